//! `VOICEGW__SECTION__KEY=value` environment overrides, applied onto the TOML tree.
//!
//! A value is coerced to the type the key already has (from the defaults or the
//! file), so `VOICEGW__ARI__PASSWORD=1234` stays a string and
//! `VOICEGW__HTTP__LISTEN=abc` fails later with the key named, not here with a
//! TOML syntax error about a value the operator never wrote as TOML.

use super::{ConfigError, ENV_PREFIX};
use toml::{Table, Value};

/// One override that was applied: the dotted key and the variable that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Applied {
    pub(super) key: String,
    pub(super) variable: String,
}

/// Applies every `VOICEGW__…` variable of `vars` onto `tree`.
pub(super) fn apply(
    tree: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Applied>, ConfigError> {
    let mut applied = Vec::new();
    let mut vars: Vec<_> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    // Sorted so that the result never depends on the environment's order.
    vars.sort();
    for (variable, raw) in vars {
        let path: Vec<String> = variable[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let key = path.join(".");
        let invalid = |problem: String| ConfigError::Invalid {
            key: key.clone(),
            origin: format!("set by {variable}"),
            problem,
            expected: Some(
                "VOICEGW__SECTION__KEY naming a key of the configuration reference".into(),
            ),
        };
        if path.len() < 2 || path.iter().any(String::is_empty) {
            return Err(invalid(
                "the variable does not name a section and a key".into(),
            ));
        }
        let (leaf, parents) = path.split_last().expect("len >= 2");
        let mut table = &mut *tree;
        for p in parents {
            table = match table.get_mut(p) {
                Some(Value::Table(t)) => t,
                _ => return Err(invalid(format!("there is no configuration section `{p}`"))),
            };
        }
        let value = coerce(table.get(leaf), &raw);
        table.insert(leaf.clone(), value);
        applied.push(Applied { key, variable });
    }
    Ok(applied)
}

/// Turns the raw string into the TOML type the key already holds. A value that
/// does not fit stays a string, so deserialisation reports it against the key.
fn coerce(existing: Option<&Value>, raw: &str) -> Value {
    let parsed = || raw.parse::<Value>().ok().or_else(|| toml_scalar(raw));
    match existing {
        Some(Value::String(_)) => Value::String(raw.to_owned()),
        Some(Value::Integer(_)) => raw
            .trim()
            .parse()
            .map(Value::Integer)
            .unwrap_or_else(|_| raw.into()),
        Some(Value::Float(_)) => raw
            .trim()
            .parse()
            .map(Value::Float)
            .unwrap_or_else(|_| raw.into()),
        Some(Value::Boolean(_)) => raw
            .trim()
            .parse()
            .map(Value::Boolean)
            .unwrap_or_else(|_| raw.into()),
        Some(Value::Array(_) | Value::Table(_)) => parsed().unwrap_or_else(|| raw.into()),
        Some(Value::Datetime(_)) | None => parsed().unwrap_or_else(|| raw.into()),
    }
}

/// Parses `raw` as a TOML value expression (`[1, 2]`, `true`, `"x"`).
fn toml_scalar(raw: &str) -> Option<Value> {
    let doc: Table = format!("v = {raw}").parse().ok()?;
    doc.get("v").cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Table {
        "[http]\nlisten = \"127.0.0.1:8080\"\n[ari]\npassword = \"\"\n[lifecycle]\nn = 3\n"
            .parse()
            .unwrap()
    }

    fn var(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn keeps_the_existing_type() {
        let mut t = tree();
        let applied = apply(
            &mut t,
            [
                var("VOICEGW__ARI__PASSWORD", "1234"),
                var("VOICEGW__LIFECYCLE__N", "7"),
            ],
        )
        .unwrap();
        assert_eq!(t["ari"]["password"], Value::String("1234".into()));
        assert_eq!(t["lifecycle"]["n"], Value::Integer(7));
        assert_eq!(applied[0].key, "ari.password");
    }

    #[test]
    fn a_misfit_value_stays_a_string_for_the_deserialiser_to_reject() {
        let mut t = tree();
        apply(&mut t, [var("VOICEGW__LIFECYCLE__N", "many")]).unwrap();
        assert_eq!(t["lifecycle"]["n"], Value::String("many".into()));
    }

    #[test]
    fn ignores_other_variables_and_rejects_bad_names() {
        let mut t = tree();
        assert!(
            apply(&mut t, [var("PATH", "/bin"), var("VOICEGW_X", "1")])
                .unwrap()
                .is_empty()
        );
        let e = apply(&mut t, [var("VOICEGW__NOPE__X", "1")]).unwrap_err();
        assert!(
            e.to_string().contains("no configuration section `nope`"),
            "{e}"
        );
        let e = apply(&mut t, [var("VOICEGW__HTTP", "1")]).unwrap_err();
        assert!(e.to_string().contains("VOICEGW__HTTP"), "{e}");
    }
}
