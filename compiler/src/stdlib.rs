//! The standard library, written in blindtune and embedded in the binary.

/// (module name under `std::`, source)
pub const MODULES: &[(&str, &str)] = &[
    ("math", include_str!("../../stdlib/math.bt")),
    ("softmax", include_str!("../../stdlib/softmax.bt")),
    ("loss", include_str!("../../stdlib/loss.bt")),
    ("optim", include_str!("../../stdlib/optim.bt")),
];

pub fn source(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}
