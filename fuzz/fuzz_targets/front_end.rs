//! Fuzz the whole front end: lexer, parser with recovery, checker (with the stdlib), the
//! diagnostic renderer, the pretty printer and the checked-program dump. None may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let c = blindtune_compiler::check_source("fuzz.bt", text);
    let _ = c.rendered_diagnostics();
    if let Some(p) = &c.program {
        let _ = p.dump();
    }
    let _ = blindtune_compiler::syntax::format_source("fuzz.bt", text);
});
