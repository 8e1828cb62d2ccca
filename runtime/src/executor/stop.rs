//! Stopping a loop early ([`super::TripControl::Break`]): when it is well defined.
//!
//! A loop that stops after trip `t` ends exactly as if it had been declared with `t + 1` trips:
//! its results are the values trip `t` yielded and the run continues after it. Plain values
//! make that true for every loop. Batch streams do not: the data owner encrypted each stream's
//! batches in the order the whole run consumes them, so the batches a stopped loop leaves
//! unread would be handed to whatever reads the stream next. Hence the rule: a loop whose body
//! reads no batch stream may always stop; one that reads a stream may stop only if it is an
//! outermost loop and no instruction after it reads that stream again. (A loop nested in
//! another is refused when it reads a stream: the enclosing loop's next trip would read it.)

use std::collections::BTreeSet;

use super::observer::LoopPos;
use crate::plan::{Inst, Op, Plan};

/// The batch streams read by `insts` and the loops in them.
fn streams_read(insts: &[Inst], out: &mut BTreeSet<String>) {
    for inst in insts {
        match &inst.op {
            Op::BatchInput { name, .. } => {
                out.insert(name.clone());
            }
            Op::Loop { body, .. } => streams_read(body, out),
            _ => {}
        }
    }
}

fn list(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why the loop at `position` (the enclosing loops' trips, then this loop's) cannot stop early,
/// or `None` when it can.
pub(crate) fn stop_refused(plan: &Plan, position: &[LoopPos]) -> Option<String> {
    let mut insts = &plan.body;
    let mut body = None;
    for pos in position {
        match insts.get(pos.inst).map(|i| &i.op) {
            Some(Op::Loop { body: b, .. }) => {
                body = Some(b);
                insts = b;
            }
            _ => return Some("the position does not name a loop of the plan".into()),
        }
    }
    let body = body?;
    let mut read = BTreeSet::new();
    streams_read(body, &mut read);
    if read.is_empty() {
        return None;
    }
    if position.len() > 1 {
        return Some(format!(
            "it reads the batch stream(s) {} and runs inside another loop, whose next trips \
             would read the batches it leaves unread",
            list(&read)
        ));
    }
    let k = position[0].inst;
    for (j, inst) in plan.body.iter().enumerate().skip(k + 1) {
        let mut later = BTreeSet::new();
        streams_read(std::slice::from_ref(inst), &mut later);
        let again: BTreeSet<String> = later.intersection(&read).cloned().collect();
        if !again.is_empty() {
            return Some(format!(
                "it reads the batch stream(s) {}, which body[{j}] reads again after it: the \
                 batches it leaves unread would go there",
                list(&again)
            ));
        }
    }
    None
}
