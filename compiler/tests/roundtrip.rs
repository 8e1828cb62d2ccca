//! pretty-print then parse gives the same tree: over the examples, the stdlib and generated
//! programs.

mod common;
use blindtune_compiler::syntax::{self, ast::*, pretty, span::Span};
use proptest::prelude::*;

fn roundtrip(text: &str) {
    let (m, d) = syntax::parse(0, text);
    assert!(d.is_empty(), "{d:?}");
    let printed = pretty::module(&m);
    let (m2, d2) = syntax::parse(0, &printed);
    assert!(
        d2.is_empty(),
        "pretty output does not parse: {d2:?}\n{printed}"
    );
    assert_eq!(
        common::tree(&m),
        common::tree(&m2),
        "tree changed:\n{printed}"
    );
    // idempotent
    assert_eq!(pretty::module(&m2), printed);
}

/// `blindtune fmt` keeps every comment, is idempotent and does not change the tree.
#[test]
fn formatting_keeps_comments() {
    let mut texts: Vec<String> = common::EXAMPLES
        .iter()
        .map(|n| std::fs::read_to_string(common::example_path(n)).unwrap())
        .collect();
    texts.extend(
        blindtune_compiler::stdlib::MODULES
            .iter()
            .map(|(_, t)| t.to_string()),
    );
    for text in texts {
        let f1 = syntax::format_source("a.bt", &text).unwrap();
        let f2 = syntax::format_source("a.bt", &f1).unwrap();
        assert_eq!(f1, f2, "not idempotent");
        for line in text.lines() {
            if let Some(i) = line.find("//") {
                assert!(
                    f1.contains(line[i..].trim_end()),
                    "lost comment {:?}\n{f1}",
                    &line[i..]
                );
            }
        }
        let (a, _) = syntax::parse(0, &text);
        let (b, _) = syntax::parse(0, &f1);
        assert_eq!(common::tree(&a), common::tree(&b));
    }
}

#[test]
fn examples_and_stdlib_roundtrip() {
    for name in common::EXAMPLES {
        roundtrip(&std::fs::read_to_string(common::example_path(name)).unwrap());
    }
    for (_, text) in blindtune_compiler::stdlib::MODULES {
        roundtrip(text);
    }
    for e in std::fs::read_dir(common::root().join("compiler/tests/errors")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let (m, d) = syntax::parse(0, &text);
        if d.is_empty() {
            roundtrip(&text);
        } else {
            // broken files still pretty-print without panicking
            let _ = pretty::module(&m);
        }
    }
}

fn sp() -> Span {
    Span::default()
}
fn id(s: &str) -> Ident {
    Ident {
        name: s.to_string(),
        span: sp(),
    }
}
fn ex(kind: ExprKind) -> Expr {
    Expr::new(kind, sp())
}

fn ident() -> impl Strategy<Value = Ident> {
    prop::sample::select(vec!["x", "w", "b", "N", "lr", "acc", "z1"]).prop_map(id)
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (0u32..1000).prop_map(|n| ex(ExprKind::Number(n as f64 / 8.0))),
        prop::sample::select(vec![0.1, 1e-7, 2.5e20, 3.0, 128.0])
            .prop_map(|n| ex(ExprKind::Number(n))),
        ident().prop_map(|i| ex(ExprKind::Path(vec![i]))),
        (ident(), ident()).prop_map(|(a, b)| ex(ExprKind::Path(vec![a, b]))),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        let op = prop::sample::select(vec![
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::MatMul,
            BinOp::Pow,
        ]);
        let cmp = prop::sample::select(vec![
            BinOp::Lt,
            BinOp::Le,
            BinOp::Gt,
            BinOp::Ge,
            BinOp::Eq,
            BinOp::Ne,
        ]);
        prop_oneof![
            (op, inner.clone(), inner.clone()).prop_map(|(o, a, b)| ex(ExprKind::Binary(
                o,
                Box::new(a),
                Box::new(b)
            ))),
            inner.clone().prop_map(|a| ex(ExprKind::Unary(Box::new(a)))),
            inner
                .clone()
                .prop_map(|a| ex(ExprKind::Transpose(Box::new(a)))),
            (ident(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, a)| ex(ExprKind::Call(vec![f], a))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, lo, hi)| ex(
                ExprKind::Index(Box::new(a), vec![IndexItem::Full, IndexItem::Range(lo, hi)])
            )),
            (inner.clone(), inner.clone())
                .prop_map(|(a, i)| ex(ExprKind::Index(Box::new(a), vec![IndexItem::At(i)]))),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(a, lo, hi)| ex(
                ExprKind::Index(Box::new(a), vec![IndexItem::From(lo), IndexItem::To(hi)])
            )),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| ex(ExprKind::Tuple(v))),
            (
                cmp,
                inner.clone(),
                inner.clone(),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(c, a, b, t, f)| ex(ExprKind::If(
                    Box::new(ex(ExprKind::Binary(c, Box::new(a), Box::new(b)))),
                    Block {
                        stmts: vec![],
                        tail: Some(Box::new(t)),
                        span: sp()
                    },
                    Block {
                        stmts: vec![],
                        tail: Some(Box::new(f)),
                        span: sp()
                    },
                ))),
            (
                ident(),
                inner.clone(),
                inner.clone(),
                ident(),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(v, lo, hi, c, init, body)| ex(ExprKind::For {
                    iter: Box::new(LoopIter::Range { var: v, lo, hi }),
                    carry: vec![Carry {
                        name: c,
                        ty: None,
                        init
                    }],
                    body: Block {
                        stmts: vec![],
                        tail: Some(Box::new(body)),
                        span: sp()
                    },
                })),
            (
                ident(),
                ident(),
                inner.clone(),
                inner.clone(),
                any::<bool>(),
                inner.clone()
            )
                .prop_map(|(a, b, src, size, sh, body)| ex(ExprKind::For {
                    iter: Box::new(LoopIter::Batches {
                        vars: vec![a, b],
                        sources: vec![src.clone(), src],
                        size,
                        shuffle: sh
                    }),
                    carry: vec![],
                    body: Block {
                        stmts: vec![Stmt::Output {
                            name: id("o"),
                            value: body,
                            against: None,
                            span: sp()
                        }],
                        tail: None,
                        span: sp(),
                    },
                })),
        ]
    })
}

fn ty() -> impl Strategy<Value = TypeExpr> {
    (
        prop::option::of(prop::sample::select(vec![Secrecy::Secret, Secrecy::Public])),
        prop::option::of(prop::collection::vec(
            prop_oneof![
                (0u64..300).prop_map(|n| DimExpr::Const(n, sp())),
                ident().prop_map(DimExpr::Sym)
            ],
            0..3,
        )),
        prop::option::of((0u32..9, 1u32..9)),
    )
        .prop_map(|(s, shape, r)| {
            let range = r.map(|(a, b)| {
                (
                    ex(ExprKind::Unary(Box::new(ex(ExprKind::Number(a as f64))))),
                    ex(ExprKind::Number(b as f64)),
                )
            });
            let (elem, shape) = match (s, shape, &range) {
                (_, Some(sh), _) => (Some(Elem::F64), Some(sh)),
                (None, None, None) => (Some(Elem::I64), None),
                _ => (None, None),
            };
            TypeExpr {
                secrecy: s,
                elem,
                shape,
                range,
                span: sp(),
            }
        })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (ident(), expr()).prop_map(|(n, v)| Item::Param {
            name: n,
            kind: ScalarKind::Real,
            value: v,
            span: sp()
        }),
        (ident(), ty()).prop_map(|(n, t)| Item::Input {
            name: n,
            ty: t,
            span: sp()
        }),
        (ident(), prop::option::of(ty()), expr()).prop_map(|(n, t, v)| Item::Stmt(Stmt::Let {
            pat: Pattern::Name(n),
            ty: t,
            value: v,
            span: sp()
        })),
        (prop::collection::vec(ident(), 1..3), expr()).prop_map(|(ns, v)| Item::Stmt(Stmt::Let {
            pat: Pattern::Tuple(ns, sp()),
            ty: None,
            value: v,
            span: sp()
        })),
        (ident(), expr(), prop::option::of(expr())).prop_map(|(n, v, a)| Item::Stmt(
            Stmt::Output {
                name: n,
                value: v,
                against: a,
                span: sp()
            }
        )),
        (ident(), ident(), expr(), expr(), 1u32..20).prop_map(|(n, f, lo, hi, d)| Item::Approx {
            name: n,
            func: f,
            lo,
            hi,
            spec: ApproxSpec::Degree(ex(ExprKind::Number(d as f64))),
            span: sp()
        }),
        (
            ident(),
            prop::collection::vec(expr(), 1..4),
            prop::option::of(ident())
        )
            .prop_map(|(n, cs, a)| Item::Poly {
                name: n,
                coeffs: cs,
                lo: ex(ExprKind::Number(0.0)),
                hi: ex(ExprKind::Number(1.0)),
                approximates: a,
                span: sp()
            }),
        (
            ident(),
            prop::collection::vec((ident(), ty()), 0..3),
            prop::option::of(prop_oneof![
                ty().prop_map(ReturnType::One),
                prop::collection::vec(ty(), 0..3).prop_map(|ts| ReturnType::Tuple(ts, sp())),
            ]),
            expr()
        )
            .prop_map(|(n, ps, r, body)| Item::Fn(FnDecl {
                name: n,
                params: ps,
                ret: r,
                approximates: None,
                body: Block {
                    stmts: vec![],
                    tail: Some(Box::new(body)),
                    span: sp()
                },
                span: sp(),
            })),
        prop::collection::vec(ident(), 1..3).prop_map(|p| Item::Use {
            path: p,
            span: sp()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]
    #[test]
    fn generated_programs_roundtrip(items in prop::collection::vec(item(), 1..6)) {
        let m = Module { items, span: sp() };
        let printed = pretty::module(&m);
        let (m2, d) = syntax::parse(0, &printed);
        prop_assert!(d.is_empty(), "does not parse: {:?}\n{}", d, printed);
        prop_assert_eq!(common::tree(&m), common::tree(&m2), "\n{}", printed);
    }
}
