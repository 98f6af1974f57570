//! Small query helpers shared by every service's `store` module.

use sea_orm::{
    ColumnTrait,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr},
};

/// `column LIKE 'prefix%'` with the prefix's wildcards escaped, for materialized-path subtree
/// queries that both SQLite and PostgreSQL answer the same way.
pub fn starts_with(column: impl ColumnTrait, prefix: &str) -> SimpleExpr {
    let pattern = format!("{}%", escape_like(prefix));
    Expr::col(column).like(LikeExpr::new(pattern).escape('\\'))
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `LOWER(column) LIKE '%text%'` with the text's wildcards escaped: a case-insensitive (for
/// the letters A-Z) substring search that SQLite and PostgreSQL answer the same way.
pub fn contains_ci(column: impl ColumnTrait, text: &str) -> SimpleExpr {
    let pattern = format!("%{}%", escape_like(&text.to_ascii_lowercase()));
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

/// Locks the row `id` of `table` until the transaction ends (PostgreSQL; SQLite writers are
/// serialized anyway): for a writer that must take its row locks in the same order as every
/// other writer of the same rows, so that two of them cannot deadlock.
pub async fn lock_row(
    conn: &impl sea_orm::ConnectionTrait,
    table: &'static str,
    id: &str,
) -> Result<(), sea_orm::DbErr> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"),
            [id.into()],
        ))
        .await?;
    }
    Ok(())
}
