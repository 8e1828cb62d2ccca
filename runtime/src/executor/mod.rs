//! The plan executor (in progress): for now, the I/O traits it is generic over ([`io`]), which
//! the client's encrypted-dataset source and model sink implement.

pub mod io;
