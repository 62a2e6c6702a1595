//! Conditions in the source: the JSON condition language compiled to [`Condition`] trees.

use super::*;

impl Compiler {
    pub(super) fn condition_root(&mut self, at: &str, v: &serde_json::Value) -> Option<Condition> {
        let c = self.condition(at, v, 1)?;
        if c.size() > MAX_CONDITION_NODES {
            self.error(
                at,
                format!(
                    "condition has {} nodes; at most {MAX_CONDITION_NODES} are allowed",
                    c.size()
                ),
                Some("split it across rules".into()),
            );
            return None;
        }
        Some(c)
    }

    pub(super) fn condition(
        &mut self,
        at: &str,
        v: &serde_json::Value,
        depth: usize,
    ) -> Option<Condition> {
        if depth > MAX_CONDITION_DEPTH {
            self.error(
                at,
                format!("condition nested deeper than {MAX_CONDITION_DEPTH} levels"),
                Some("flatten `all`/`any` nodes".into()),
            );
            return None;
        }
        let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
            self.error(
                at,
                "a condition is an object with exactly one operator",
                Some("`all`, `any`, `not`, `eq`, `in`, `has` or `time`".into()),
            );
            return None;
        };
        let (op, arg) = obj.iter().next()?;
        let at = format!("{at}/{op}");
        match op.as_str() {
            "all" | "any" => {
                let Some(items) = arg.as_array() else {
                    self.error(at, format!("`{op}` takes a list of conditions"), None);
                    return None;
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.push(self.condition(&format!("{at}/{i}"), item, depth + 1));
                }
                let out: Option<Vec<_>> = out.into_iter().collect();
                let out = out?;
                Some(if op == "all" {
                    Condition::All(out)
                } else {
                    Condition::Any(out)
                })
            }
            "not" => Some(Condition::Not(Box::new(self.condition(
                &at,
                arg,
                depth + 1,
            )?))),
            "eq" | "in" => {
                let Some([a, b]) = arg.as_array().map(Vec::as_slice) else {
                    self.error(at, format!("`{op}` takes two operands"), Some("e.g. `[{\"attr\": \"resource.factory\"}, {\"attr\": \"principal.factories\"}]`".into()));
                    return None;
                };
                let a = self.operand(&format!("{at}/0"), a);
                let b = self.operand(&format!("{at}/1"), b);
                let (a, b) = (a?, b?);
                if op == "in" {
                    if let Operand::Literal(l) = &b {
                        if !matches!(l, Value::List(_)) {
                            self.error(format!("{at}/1"), "the right side of `in` is a list", None);
                        }
                    }
                    Some(Condition::In(a, b))
                } else {
                    Some(Condition::Eq(a, b))
                }
            }
            "has" => match arg.as_str().and_then(AttrRef::parse) {
                Some(r) => Some(Condition::Has(r)),
                None => {
                    self.error(
                        at,
                        "`has` takes an attribute reference such as `resource.region`",
                        None,
                    );
                    None
                }
            },
            "time" => {
                let parsed: Result<TimeWindowSource, _> = serde_json::from_value(arg.clone());
                match parsed {
                    Ok(w) => {
                        let after = self.time(&format!("{at}/after"), &w.after);
                        let before = self.time(&format!("{at}/before"), &w.before);
                        Some(Condition::Time { after, before })
                    }
                    Err(_) => {
                        self.error(at, "`time` takes `{\"after\": …, \"before\": …}`", None);
                        None
                    }
                }
            }
            other => {
                self.error(
                    at,
                    format!("unknown operator `{other}`"),
                    closest(
                        other,
                        ["all", "any", "not", "eq", "in", "has", "time"].into_iter(),
                    )
                    .map(|c| format!("did you mean `{c}`?")),
                );
                None
            }
        }
    }

    pub(super) fn operand(&mut self, at: &str, v: &serde_json::Value) -> Option<Operand> {
        if let Some(obj) = v.as_object() {
            return match (obj.len(), obj.get("attr").and_then(|a| a.as_str())) {
                (1, Some(text)) => match AttrRef::parse(text) {
                    Some(r) => Some(Operand::Attr(r)),
                    None => {
                        self.error(
                            format!("{at}/attr"),
                            format!("`{text}` is not an attribute reference"),
                            Some(
                                "use `principal.x`, `resource.x`, `env.x` or `context.method`"
                                    .into(),
                            ),
                        );
                        None
                    }
                },
                _ => {
                    self.error(at, "an operand is a literal or `{\"attr\": \"…\"}`", None);
                    None
                }
            };
        }
        match serde_json::from_value::<Value>(v.clone()) {
            Ok(val) if val.depth() <= MAX_VALUE_DEPTH => Some(Operand::Literal(val)),
            _ => {
                self.error(
                    at,
                    "a literal is a string, an integer, a boolean or a list of those",
                    None,
                );
                None
            }
        }
    }
}
