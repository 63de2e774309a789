//! Typing the operands of a `rowLevel` comparison: which comparisons PostgreSQL can evaluate,
//! and the casts and literals that make them exact.

use super::super::model::FieldType;
use super::super::predicate::CompareOp;
use super::compile::Fault;
use super::quote_literal;

/// One compiled operand: SQL text and what kind of value it is.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Column(String, FieldType),
    Setting(String),
    Str(String),
    Number(String),
    Bool(bool),
    Null,
}

impl Value {
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Column(_, t) => {
                let article = if *t == FieldType::Int { "an" } else { "a" };
                format!("{article} {t} field")
            }
            Self::Setting(_) => "a context variable".to_owned(),
            Self::Str(_) => "a string".to_owned(),
            Self::Number(_) => "a number".to_owned(),
            Self::Bool(_) => "a boolean".to_owned(),
            Self::Null => "null".to_owned(),
        }
    }
}

/// A number literal as SQL: an optional minus, digits, an optional fraction; negative numbers
/// are parenthesized so no `-` can ever touch another.
pub(super) fn number(text: &str) -> Result<String, Fault> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let valid = all_digits(whole)
        && fraction.is_none_or(|f| all_digits(f) && !f.is_empty())
        && !(whole.is_empty() && fraction.is_none());
    if !valid {
        return Err(Fault::NotEnforceable(format!(
            "the number {text} is not a decimal number"
        )));
    }
    let canonical = if whole.is_empty() {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    Ok(if text.starts_with('-') {
        format!("(-{canonical})")
    } else {
        canonical
    })
}

/// The SQL type a setting is cast to for comparison with a column of `field_type`.
pub(super) fn cast(setting: String, field_type: FieldType) -> Result<String, Fault> {
    let target = match field_type {
        FieldType::String => return Ok(setting),
        FieldType::Int => "integer",
        FieldType::BigInt => "bigint",
        FieldType::Float => "double precision",
        FieldType::Boolean => "boolean",
        FieldType::DateTime => "timestamp(3)",
        FieldType::Json => {
            return Err(Fault::NotEnforceable(
                "a Json field can only be tested with IS NULL".to_owned(),
            ))
        }
    };
    Ok(format!("({setting})::{target}"))
}

/// The SQL of a value on its own (IS NULL tests); `against` gives a column type to cast to.
pub(super) fn sql_of(value: &Value, against: Option<FieldType>) -> Result<String, Fault> {
    Ok(match value {
        Value::Column(sql, _) => sql.clone(),
        Value::Setting(sql) => match against {
            Some(t) => cast(sql.clone(), t)?,
            None => sql.clone(),
        },
        Value::Str(text) => quote_literal(text),
        Value::Number(n) => n.clone(),
        Value::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Value::Null => "NULL".to_owned(),
    })
}

/// Both sides of a comparison as SQL, type-checked; refused when PostgreSQL would refuse
/// the comparison (or silently compare text with numbers).
pub(super) fn operands(left: &Value, right: &Value) -> Result<(String, String), Fault> {
    use Value as V;
    let mismatch = || {
        Fault::NotEnforceable(format!(
            "it compares {} with {}",
            left.describe(),
            right.describe()
        ))
    };
    let numeric = |t: FieldType| t.is_numeric();
    match (left, right) {
        (V::Column(_, FieldType::Json), _) | (_, V::Column(_, FieldType::Json)) => Err(
            Fault::NotEnforceable("a Json field can only be tested with IS NULL".to_owned()),
        ),
        (V::Column(a, ta), V::Column(b, tb)) => {
            if ta == tb || (numeric(*ta) && numeric(*tb)) {
                Ok((a.clone(), b.clone()))
            } else {
                Err(mismatch())
            }
        }
        (V::Column(_, t), V::Setting(_)) => Ok((sql_of(left, None)?, sql_of(right, Some(*t))?)),
        (V::Setting(_), V::Column(_, t)) => Ok((sql_of(left, Some(*t))?, sql_of(right, None)?)),
        (V::Column(_, FieldType::String), V::Str(_))
        | (V::Str(_), V::Column(_, FieldType::String))
        | (V::Column(_, FieldType::Boolean), V::Bool(_))
        | (V::Bool(_), V::Column(_, FieldType::Boolean))
        | (V::Setting(_) | V::Str(_), V::Setting(_) | V::Str(_))
        | (V::Number(_), V::Number(_))
        | (V::Bool(_), V::Bool(_)) => Ok((sql_of(left, None)?, sql_of(right, None)?)),
        (V::Column(_, t), V::Number(_)) | (V::Number(_), V::Column(_, t)) if numeric(*t) => {
            Ok((sql_of(left, None)?, sql_of(right, None)?))
        }
        (V::Setting(s), V::Number(n)) => Ok((format!("({s})::numeric"), n.clone())),
        (V::Number(n), V::Setting(s)) => Ok((n.clone(), format!("({s})::numeric"))),
        (V::Setting(s), V::Bool(b)) => Ok((format!("({s})::boolean"), sql_of(&V::Bool(*b), None)?)),
        (V::Bool(b), V::Setting(s)) => Ok((sql_of(&V::Bool(*b), None)?, format!("({s})::boolean"))),
        _ => Err(mismatch()),
    }
}

pub(super) fn compare(left: &Value, op: CompareOp, right: &Value) -> Result<String, Fault> {
    let null_test = |value: &Value| -> Result<String, Fault> {
        let text = sql_of(value, None)?;
        match op {
            CompareOp::Eq => Ok(format!("{text} IS NULL")),
            CompareOp::Ne => Ok(format!("{text} IS NOT NULL")),
            _ => Err(Fault::NotEnforceable(
                "null can only be compared with = or !=".to_owned(),
            )),
        }
    };
    match (left, right) {
        (Value::Null, Value::Null) => Err(Fault::NotEnforceable(
            "it compares null with null".to_owned(),
        )),
        (Value::Null, other) | (other, Value::Null) => null_test(other),
        _ => {
            let (l, r) = operands(left, right)?;
            let symbol = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
            };
            Ok(format!("{l} {symbol} {r}"))
        }
    }
}
