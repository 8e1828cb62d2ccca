//! The CKKS stage's text form.

use super::CkksProgram;
use std::fmt;

impl fmt::Display for CkksProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = format!(
            "ckks_program {{\n  block {}×{} ({} slots)\n",
            self.block.s0, self.block.s1, self.slots
        );
        for i in &self.inputs {
            s += &format!(
                "  input {}{}: {:?} {}{}\n",
                if i.secret { "secret " } else { "public " },
                i.name,
                i.shape,
                i.layout,
                i.stream
                    .as_ref()
                    .map(|st| format!(
                        " streamed in batches of {}{}",
                        st.batch,
                        if st.shuffle { " (shuffled)" } else { "" }
                    ))
                    .unwrap_or_default()
            );
        }
        for o in &self.outputs {
            s += &format!(
                "  output {}: {:?} {}{}\n",
                o.name,
                o.shape,
                o.layout,
                if o.repeated { " (per trip)" } else { "" }
            );
        }
        blindtune_runtime::plan::print::write_insts(&mut s, &self.regs, &self.body, 1);
        s += "}\n";
        f.write_str(&s)
    }
}
