//! Small query helpers shared by every service's `store` module.

use sea_orm::{
    ColumnTrait,
    sea_query::{Expr, ExprTrait, LikeExpr, SimpleExpr},
};

/// `column LIKE 'prefix%'` with the prefix's wildcards escaped, for materialized-path subtree
/// queries that both SQLite and PostgreSQL answer the same way.
pub fn starts_with(column: impl ColumnTrait, prefix: &str) -> SimpleExpr {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Expr::col(column).like(LikeExpr::new(pattern).escape('\\'))
}
