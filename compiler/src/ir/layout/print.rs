//! The layout stage's text form: the tensor IR with each value's layout.

use super::LayoutProgram;
use std::fmt;

impl fmt::Display for LayoutProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "layout_program {{\n  slots {}  block {}×{}{}",
            self.slots,
            self.block.s0,
            self.block.s1,
            self.batch_rows
                .map(|b| format!("  (s0 from batch rows {b})"))
                .unwrap_or_default()
        )?;
        for s in &self.streamed {
            writeln!(
                f,
                "  streamed input {s}: encrypted batch by batch by the data owner"
            )?;
        }
        let text = self.tensor.to_string();
        for line in text.lines().skip(1) {
            // annotate `%name.id = ...` lines with the layout of their first result
            let ann = line
                .trim_start()
                .strip_prefix('%')
                .and_then(|rest| {
                    let name = rest.split([' ', ',']).next()?;
                    let id: u32 = name.rsplit('.').next()?.parse().ok()?;
                    self.demanded.get(&id)
                })
                .map(|l| format!("  @ {l}"))
                .unwrap_or_default();
            if self.stream_only.iter().any(|v| {
                line.trim_start().starts_with(&format!("%")) && line.contains(&format!(".{v} ="))
            }) {
                writeln!(f, "{line}{ann}  (per batch)")?;
            } else {
                writeln!(f, "{line}{ann}")?;
            }
        }
        Ok(())
    }
}
