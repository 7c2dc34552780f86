//! The output columns of a `sql:` transform, from its parsed statement: the select list with
//! `*` (and `EXCLUDE`/`EXCEPT`/`RENAME`), aliases and plain columns. The statement is parsed as
//! the runtime's SQL engine (polars SQL) parses it: sqlparser's generic dialect with trailing
//! commas.

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, SelectItem, SetExpr,
    Statement, TableFactor, WildcardAdditionalOptions,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserOptions};

/// What a SQL transform does to the frame's columns.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlColumns {
    /// The output columns in order, each with the input column it passes through unchanged
    /// (`*`, `x`, `x AS y`), if any; and the input columns it reads that the frame lacks.
    Known {
        output: Vec<(String, Option<String>)>,
        missing: Vec<Missing>,
    },
    /// The output cannot be known statically (a join, a CTE, an unnamed expression...).
    Unknown {
        reason: String,
        missing: Vec<Missing>,
    },
    /// The statement does not parse: the message, and where (1-based line and column).
    Syntax(String, Option<(u64, u64)>),
}

/// A column the statement reads that the frame lacks, and where it is written in the SQL
/// (1-based line and column).
#[derive(Clone, Debug, PartialEq)]
pub struct Missing {
    pub column: String,
    pub at: Option<(u64, u64)>,
    /// How many bytes the reference takes in the SQL (quotes included).
    pub len: usize,
}

/// The effect of `sql` on a frame with columns `input`.
pub fn sql_columns(sql: &str, input: &[&str]) -> SqlColumns {
    let parsed = Parser::new(&GenericDialect)
        .with_options(ParserOptions::new().with_trailing_commas(true))
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements());
    let statements = match parsed {
        Ok(statements) => statements,
        Err(error) => {
            let message = error.to_string();
            let at = error_location(&message);
            return SqlColumns::Syntax(message, at);
        }
    };
    let [Statement::Query(query)] = statements.as_slice() else {
        let found = statements.len();
        return SqlColumns::Syntax(
            format!("expected one SELECT statement, found {found}"),
            None,
        );
    };
    let unknown = |reason: &str, missing| SqlColumns::Unknown {
        reason: reason.to_string(),
        missing,
    };
    if query.with.is_some() {
        return unknown("the statement has a WITH clause", Vec::new());
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return unknown("the statement is not a plain SELECT", Vec::new());
    };
    let reads_data_only = match select.from.as_slice() {
        [from] => {
            from.joins.is_empty()
                && matches!(&from.relation, TableFactor::Table { name, .. } if last(name).as_deref() == Some("data"))
        }
        _ => false,
    };
    if !reads_data_only {
        return unknown(
            "the statement reads tables other than `data` (or joins)",
            Vec::new(),
        );
    }
    let alias = match &select.from[0].relation {
        TableFactor::Table { alias, .. } => alias.as_ref().map(|a| a.name.value.clone()),
        _ => None,
    };

    // Columns the statement reads (select list and WHERE) that the frame lacks. A subquery may
    // read other tables, so then nothing is reported.
    let mut missing: Vec<Missing> = Vec::new();
    let mut subquery = false;
    let mut check = |expr: &Expr| {
        let column = match expr {
            Expr::Identifier(ident) => Some(ident),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let table = parts[0].value.as_str();
                (table == "data" || alias.as_deref() == Some(table)).then(|| &parts[1])
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                subquery = true;
                None
            }
            _ => None,
        };
        if let Some(ident) = column {
            // polars resolves identifiers case-sensitively; a case-only difference is left to it.
            let known = input.iter().any(|c| c.eq_ignore_ascii_case(&ident.value));
            if !known && !missing.iter().any(|m| m.column == ident.value) {
                let start = ident.span.start;
                missing.push(Missing {
                    column: ident.value.clone(),
                    at: (start.line > 0).then_some((start.line, start.column)),
                    len: ident.value.len() + if ident.quote_style.is_some() { 2 } else { 0 },
                });
            }
        }
    };
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => walk(expr, &mut check),
            _ => {}
        }
    }
    if let Some(selection) = &select.selection {
        walk(selection, &mut check);
    }
    if subquery {
        missing.clear();
    }

    let mut output: Vec<(String, Option<String>)> = Vec::new();
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(options) => match wildcard(input, options, select) {
                Some(columns) => output.extend(columns),
                None => return unknown("the `*` has options this check does not follow", missing),
            },
            SelectItem::QualifiedWildcard(_, options) => match wildcard(input, options, select) {
                Some(columns) => output.extend(columns),
                None => return unknown("the `*` has options this check does not follow", missing),
            },
            SelectItem::UnnamedExpr(expr) => match column_of(expr) {
                Some(column) => output.push((column.clone(), Some(column))),
                None => {
                    return unknown(
                        &format!("`{expr}` has no alias (write `{expr} AS name`)"),
                        missing,
                    )
                }
            },
            SelectItem::ExprWithAlias { expr, alias } => {
                output.push((alias.value.clone(), column_of(expr)));
            }
            SelectItem::ExprWithAliases { .. } => {
                return unknown("an expression with several aliases", missing)
            }
        }
    }
    // A later column of the same name replaces an earlier one.
    let mut deduped: Vec<(String, Option<String>)> = Vec::new();
    for (name, source) in output {
        match deduped.iter_mut().find(|(n, _)| *n == name) {
            Some(existing) => existing.1 = source,
            None => deduped.push((name, source)),
        }
    }
    SqlColumns::Known {
        output: deduped,
        missing,
    }
}

/// Calls `visit` on `expr` and the expressions inside the common kinds of expression (operators,
/// functions, CASE, CAST, IN, BETWEEN, LIKE, IS ...). Identifiers inside other kinds are not
/// visited, so they are not checked: a kind left out costs a check, never a false error.
fn walk(expr: &Expr, visit: &mut dyn FnMut(&Expr)) {
    visit(expr);
    match expr {
        Expr::BinaryOp { left, right, .. } => {
            walk(left, visit);
            walk(right, visit);
        }
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::Cast { expr, .. }
        | Expr::Extract { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr) => walk(expr, visit),
        Expr::IsDistinctFrom(a, b) => {
            walk(a, visit);
            walk(b, visit);
        }
        Expr::InList { expr, list, .. } => {
            walk(expr, visit);
            list.iter().for_each(|item| walk(item, visit));
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            walk(expr, visit);
            walk(low, visit);
            walk(high, visit);
        }
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            walk(expr, visit);
            walk(pattern, visit);
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.iter().for_each(|e| walk(e, visit));
            for when in conditions {
                walk(&when.condition, visit);
                walk(&when.result, visit);
            }
            else_result.iter().for_each(|e| walk(e, visit));
        }
        Expr::Function(function) => {
            if let FunctionArguments::List(list) = &function.args {
                for arg in &list.args {
                    let (FunctionArg::Unnamed(arg)
                    | FunctionArg::Named { arg, .. }
                    | FunctionArg::ExprNamed { arg, .. }) = arg;
                    if let FunctionArgExpr::Expr(expr) = arg {
                        walk(expr, visit);
                    }
                }
            }
        }
        _ => {}
    }
}

/// `... at Line: L, Column: C` of a parser error.
fn error_location(message: &str) -> Option<(u64, u64)> {
    let rest = &message[message.rfind("Line: ")? + "Line: ".len()..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

fn last(name: &ObjectName) -> Option<String> {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.clone())
}

/// A plain column reference: `x` or `data.x`.
fn column_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|ident| ident.value.clone()),
        Expr::Nested(inner) => column_of(inner),
        _ => None,
    }
}

/// The columns of `*` with its options, or `None` for options not followed here.
fn wildcard(
    input: &[&str],
    options: &WildcardAdditionalOptions,
    select: &sqlparser::ast::Select,
) -> Option<Vec<(String, Option<String>)>> {
    use sqlparser::ast::{ExcludeSelectItem, RenameSelectItem};
    // REPLACE keeps the names but not the types or values: not followed.
    if options.opt_ilike.is_some() || options.opt_alias.is_some() || options.opt_replace.is_some() {
        return None;
    }
    let mut excluded: Vec<String> = Vec::new();
    for exclude in [&options.opt_exclude, &select.exclude]
        .into_iter()
        .flatten()
    {
        match exclude {
            ExcludeSelectItem::Single(name) => excluded.extend(last(name)),
            ExcludeSelectItem::Multiple(names) => excluded.extend(names.iter().filter_map(last)),
        }
    }
    if let Some(except) = &options.opt_except {
        excluded.push(except.first_element.value.clone());
        excluded.extend(except.additional_elements.iter().map(|i| i.value.clone()));
    }
    let renames: Vec<(String, String)> = match &options.opt_rename {
        Some(RenameSelectItem::Single(rename)) => {
            vec![(rename.ident.value.clone(), rename.alias.value.clone())]
        }
        Some(RenameSelectItem::Multiple(renames)) => renames
            .iter()
            .map(|r| (r.ident.value.clone(), r.alias.value.clone()))
            .collect(),
        None => Vec::new(),
    };
    Some(
        input
            .iter()
            .filter(|column| !excluded.iter().any(|e| e == *column))
            .map(|column| {
                let name = renames
                    .iter()
                    .find(|(from, _)| from == column)
                    .map_or(column.to_string(), |(_, to)| to.clone());
                (name, Some(column.to_string()))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &[&str] = &["id", "tenure", "charges"];

    fn known(sql: &str) -> (Vec<String>, Vec<String>) {
        match sql_columns(sql, INPUT) {
            SqlColumns::Known { output, missing } => (
                output.into_iter().map(|(name, _)| name).collect(),
                missing.into_iter().map(|m| m.column).collect(),
            ),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn star_aliases_and_plain_columns() {
        let (output, missing) = known("SELECT *, tenure * 12 AS tenure_days FROM data");
        assert_eq!(output, ["id", "tenure", "charges", "tenure_days"]);
        assert!(missing.is_empty());
        let (output, _) =
            known("SELECT id, d.charges, charges / 2 AS half, FROM data AS d WHERE tenure > 0");
        assert_eq!(output, ["id", "charges", "half"]);
        let (output, _) = known("SELECT * EXCLUDE (tenure) FROM data");
        assert_eq!(output, ["id", "charges"]);
        let (output, _) = known("SELECT * RENAME (tenure AS months) FROM data");
        assert_eq!(output, ["id", "months", "charges"]);
    }

    #[test]
    fn missing_columns_are_reported_unless_a_subquery_reads_elsewhere() {
        let (_, missing) = known("SELECT *, tenur * 12 AS t FROM data WHERE chargez > 0");
        assert_eq!(missing, ["tenur", "chargez"]);
        let (_, missing) =
            known("SELECT *, upper(x) AS u FROM data WHERE id IN (SELECT x FROM other)");
        assert!(missing.is_empty());
    }

    #[test]
    fn unknown_outputs_and_syntax_errors() {
        assert!(matches!(
            sql_columns("SELECT tenure * 2 FROM data", INPUT),
            SqlColumns::Unknown { .. }
        ));
        assert!(matches!(
            sql_columns("SELECT * FROM data JOIN other USING (id)", INPUT),
            SqlColumns::Unknown { .. }
        ));
        assert!(matches!(
            sql_columns("SELECT *, tenure FORM data", INPUT),
            SqlColumns::Syntax(_, Some((1, _)))
        ));
        // Absurd nesting is a syntax error (the parser's recursion limit), not a crash.
        let deep = format!(
            "SELECT {}1{} AS x FROM data",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert!(matches!(sql_columns(&deep, INPUT), SqlColumns::Syntax(..)));
        match sql_columns("SELECT *, tenur AS t FROM data", INPUT) {
            SqlColumns::Known { missing, .. } => assert_eq!(missing[0].at, Some((1, 11))),
            other => panic!("{other:?}"),
        }
    }
}
