//! Routing rules (按职责分工转办): which department gets a message. The rules that apply to an
//! account are those of its organization and of every level above; the nearest organization's
//! rules are tried first, each organization's by priority, and the first that matches wins.
//! When none matches, the case waits for the dispatcher (manual dispatch).

use super::{Category, Stamp, text};

/// A rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingRule {
    /// Id.
    pub id: String,
    /// The organization whose accounts it serves.
    pub organization: String,
    /// That organization's path.
    pub organization_path: String,
    /// Categories it matches; empty: any.
    pub categories: Vec<Category>,
    /// One of these must occur in the text; empty: any.
    pub keywords: Vec<String>,
    /// One of these must begin the region code; empty: any.
    pub region_prefixes: Vec<String>,
    /// The department.
    pub department: String,
    /// The department's path.
    pub department_path: String,
    /// Lower first.
    pub priority: i32,
    /// Created.
    pub created: Stamp,
}

impl RoutingRule {
    /// `routingRules/{id}`.
    pub fn name(&self) -> String {
        format!("routingRules/{}", self.id)
    }

    /// True when a message of `category` with `folded` text about `region_code` matches.
    pub fn matches(&self, category: Category, folded: &str, region_code: &str) -> bool {
        (self.categories.is_empty() || self.categories.contains(&category))
            && (self.keywords.is_empty() || self.keywords.iter().any(|k| text::contains(folded, k)))
            && (self.region_prefixes.is_empty()
                || (!region_code.is_empty()
                    && self
                        .region_prefixes
                        .iter()
                        .any(|p| region_code.starts_with(p.as_str()))))
    }
}

/// Puts `rules` in the order they are tried: deepest organization first, then priority, then
/// id (so the order is total and the same on every replica).
pub fn order(rules: &mut [RoutingRule]) {
    rules.sort_by(|a, b| {
        b.organization_path
            .len()
            .cmp(&a.organization_path.len())
            .then(a.priority.cmp(&b.priority))
            .then(a.id.cmp(&b.id))
    });
}

/// The first of the ordered `rules` that matches the message.
pub fn route<'a>(
    rules: &'a [RoutingRule],
    category: Category,
    text: &str,
    region_code: &str,
) -> Option<&'a RoutingRule> {
    let folded = text::fold(text);
    rules
        .iter()
        .find(|rule| rule.matches(category, &folded, region_code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, path: &str, priority: i32, keywords: &[&str]) -> RoutingRule {
        RoutingRule {
            id: id.into(),
            organization: id.into(),
            organization_path: path.into(),
            categories: vec![],
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            region_prefixes: vec![],
            department: format!("{id}-dept"),
            department_path: format!("{path}{id}-dept/"),
            priority,
            created: Stamp {
                time: chrono::DateTime::UNIX_EPOCH,
                actor: String::new(),
                actor_organization: String::new(),
            },
        }
    }

    #[test]
    fn the_nearest_organization_wins_then_priority_and_unmatched_messages_wait() {
        let mut rules = vec![
            rule("province", "/qh/", 0, &["路灯"]),
            rule("city-b", "/qh/hx/", 5, &["路灯"]),
            rule("city-a", "/qh/hx/", 1, &["入学", "学校"]),
            rule("city-c", "/qh/hx/", 2, &["路灯"]),
        ];
        order(&mut rules);
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["city-a", "city-c", "city-b", "province"]);
        let hit = route(&rules, Category::Complaint, "昆仑路路灯不亮", "").expect("routed");
        assert_eq!(hit.id, "city-c");
        assert!(route(&rules, Category::Consult, "公积金怎么提取", "").is_none());
    }

    #[test]
    fn categories_and_region_prefixes_narrow_a_rule() {
        let mut r = rule("r", "/qh/", 0, &[]);
        r.categories = vec![Category::Report];
        r.region_prefixes = vec!["6328".into()];
        assert!(r.matches(Category::Report, "", "632801"));
        assert!(!r.matches(Category::Report, "", "630102"));
        assert!(!r.matches(Category::Report, "", ""));
        assert!(!r.matches(Category::Consult, "", "632801"));
    }
}
