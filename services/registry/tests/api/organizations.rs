use govmedia_kit::auth::Role;
use govmedia_proto::{common::v1::AdministrativeLevel as Level, registry::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use prost_types::FieldMask;
use tonic::Code;

use crate::helpers::{TestApp, assert_error, audit_count, create_org, org, seed_tree};
use pb::OrganizationKind::{Department, Government, PublicInstitution};

async fn the_tree_is_built_and_listed_by_subtree(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;

    let golmud = supervisor
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(golmud.display_name, "格尔木市人民政府");
    assert_eq!(golmud.parent, "organizations/haixi");
    assert_eq!(golmud.government, "organizations/golmud");
    assert_eq!(golmud.etag, "1");
    assert_eq!(
        golmud.created.as_ref().map(|s| s.actor.as_str()),
        Some("govmedia-filing")
    );

    let edu = supervisor
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud-edu".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        edu.government, "organizations/golmud",
        "a department belongs to its government"
    );

    // The subtree of golmud, two per page.
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = supervisor
            .list_organizations(pb::ListOrganizationsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(page.total_size, 3);
        names.extend(page.organizations.into_iter().map(|o| o.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        names,
        [
            "organizations/golmud",
            "organizations/golmud-edu",
            "organizations/golmud-office"
        ]
    );

    let mut province = app.client("qinghai", &[Role::Auditor]).await;
    let governments = province
        .list_organizations(pb::ListOrganizationsRequest {
            kind: Government as i32,
            level: Level::Municipal as i32,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = governments
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["organizations/haixi", "organizations/xining"]);

    // A token from one listing is refused with other filters.
    let first = province
        .list_organizations(pb::ListOrganizationsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let reused = province
        .list_organizations(pb::ListOrganizationsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            kind: Department as i32,
            ..Default::default()
        })
        .await;
    assert_error(reused, Code::InvalidArgument, "INVALID_PAGE_TOKEN");
}
backend_test!(
    the_tree_is_built_and_listed_by_subtree_on,
    the_tree_is_built_and_listed_by_subtree
);

async fn only_the_root_itself_may_bootstrap_a_root(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut foreign = app.system().await;
    let result = foreign
        .create_organization(pb::CreateOrganizationRequest {
            organization_id: "gansu".into(),
            organization: Some(org("", "甘肃省人民政府", Level::Provincial, Government)),
            request_id: String::new(),
        })
        .await;
    assert_error(result, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let mut supervisor = app.client("qinghai", &[Role::Supervisor]).await;
    let result = supervisor
        .create_organization(pb::CreateOrganizationRequest {
            organization_id: "qinghai".into(),
            organization: Some(org("", "青海省人民政府", Level::Provincial, Government)),
            request_id: String::new(),
        })
        .await;
    assert_error(result, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    assert_eq!(audit_count(&app).await, 0);
    seed_tree(&app).await;
    let mut system = app.system().await;
    let again = system
        .create_organization(pb::CreateOrganizationRequest {
            organization_id: "golmud".into(),
            organization: Some(org("haixi", "格尔木市人民政府", Level::County, Government)),
            request_id: String::new(),
        })
        .await;
    assert_error(again, Code::AlreadyExists, "ALREADY_EXISTS");
}
backend_test!(
    only_the_root_itself_may_bootstrap_a_root_on,
    only_the_root_itself_may_bootstrap_a_root
);

async fn the_tree_rules_hold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    let before = audit_count(&app).await;
    let mut create = async |id: &str, organization: pb::Organization| {
        supervisor
            .create_organization(pb::CreateOrganizationRequest {
                organization_id: id.into(),
                organization: Some(organization),
                request_id: String::new(),
            })
            .await
    };
    // A department under a department.
    assert_error(
        create(
            "bad-1",
            org("golmud-edu", "某科", Level::County, Department),
        )
        .await,
        Code::FailedPrecondition,
        "INVALID_HIERARCHY",
    );
    // Above the parent's level.
    assert_error(
        create("bad-2", org("golmud", "某局", Level::Municipal, Department)).await,
        Code::FailedPrecondition,
        "INVALID_HIERARCHY",
    );
    // A second management department for golmud.
    let mut second = org("golmud", "另一个办公室", Level::County, Department);
    second.management_department = true;
    let status = assert_error(
        create("bad-3", second).await,
        Code::FailedPrecondition,
        "MANAGEMENT_DEPARTMENT_EXISTS",
    );
    use tonic_types::StatusExt;
    assert!(status.get_error_details().localized_message().is_some());
    // A public institution cannot be one.
    let mut institution = org(
        "golmud",
        "格尔木市融媒体中心",
        Level::County,
        PublicInstitution,
    );
    institution.management_department = true;
    assert_error(
        create("bad-4", institution).await,
        Code::FailedPrecondition,
        "ORGANIZATION_CONSTRAINT",
    );
    // Outside the caller's subtree.
    assert_error(
        create(
            "bad-5",
            org("xining", "西宁市某局", Level::Municipal, Department),
        )
        .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    // Unknown parent.
    assert_error(
        create("bad-6", org("nowhere", "某局", Level::County, Department)).await,
        Code::NotFound,
        "NOT_FOUND",
    );
    assert_eq!(
        audit_count(&app).await,
        before,
        "rejected writes change nothing"
    );
    // A township under the county is fine.
    let town = create(
        "guolemude",
        org("golmud", "郭勒木德镇人民政府", Level::Township, Government),
    )
    .await
    .expect("township")
    .into_inner();
    assert_eq!(town.government, "organizations/guolemude");
}
backend_test!(the_tree_rules_hold_on, the_tree_rules_hold);

async fn updates_take_a_mask_and_guard_the_etag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut supervisor = app.client("golmud", &[Role::Supervisor]).await;
    let update = |organization: pb::Organization, paths: &[&str]| pb::UpdateOrganizationRequest {
        organization: Some(organization),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
        request_id: String::new(),
    };
    let changed = supervisor
        .update_organization(update(
            pb::Organization {
                name: "organizations/golmud-edu".into(),
                display_name: "格尔木市教育局(新)".into(),
                region_code: "632801".into(),
                etag: "1".into(),
                // Not in the mask: ignored.
                must_have_account: Some(false),
                ..Default::default()
            },
            &["display_name", "region_code"],
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(changed.display_name, "格尔木市教育局(新)");
    assert_eq!(changed.region_code, "632801");
    assert_eq!(changed.must_have_account, Some(true));
    assert_eq!(changed.etag, "2");

    let stale = supervisor
        .update_organization(update(
            pb::Organization {
                name: "organizations/golmud-edu".into(),
                display_name: "过时的修改".into(),
                etag: "1".into(),
                ..Default::default()
            },
            &["display_name"],
        ))
        .await;
    assert_error(stale, Code::Aborted, "ETAG_MISMATCH");

    // A unit's own record is kept by the level above: golmud's supervisor cannot drop golmud
    // out of the coverage report...
    let own = supervisor
        .update_organization(update(
            pb::Organization {
                name: "organizations/golmud".into(),
                must_have_account: Some(false),
                ..Default::default()
            },
            &["must_have_account"],
        ))
        .await;
    assert_error(own, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    // ...Haixi's can change golmud, but not its kind while it has children.
    let mut haixi = app.client("haixi", &[Role::Supervisor]).await;
    let kind = haixi
        .update_organization(update(
            pb::Organization {
                name: "organizations/golmud".into(),
                kind: Department as i32,
                ..Default::default()
            },
            &["kind"],
        ))
        .await;
    assert_error(kind, Code::FailedPrecondition, "ORGANIZATION_CONSTRAINT");

    // Parent and level are not in the mask's vocabulary.
    let parent = supervisor
        .update_organization(update(
            pb::Organization {
                name: "organizations/golmud-edu".into(),
                ..Default::default()
            },
            &["parent", "level"],
        ))
        .await;
    crate::helpers::assert_invalid(parent, "update_mask");
}
backend_test!(
    updates_take_a_mask_and_guard_the_etag_on,
    updates_take_a_mask_and_guard_the_etag
);

/// R-04's duty is derived from level and kind unless a unit's record says otherwise; the
/// principal leader is part of the record, kept by the level above.
async fn coverage_duty_is_derived_unless_set_and_leaders_are_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let mut system = app.system().await;
    let derived =
        |org: &pb::Organization| (org.must_have_account, org.must_have_account_overridden);
    // Seeded without saying: a county department must, derived.
    let edu = system
        .get_organization(pb::GetOrganizationRequest {
            name: "organizations/golmud-edu".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(derived(&edu), (Some(true), false));
    // A township government need not; a hospital close to citizens' lives is told it must.
    let township = create_org(
        &mut system,
        "tanggula",
        org("golmud", "唐古拉山镇人民政府", Level::Township, Government),
    )
    .await;
    assert_eq!(derived(&township), (Some(false), false));
    let mut hospital = org(
        "golmud",
        "格尔木市人民医院",
        Level::County,
        PublicInstitution,
    );
    hospital.must_have_account = Some(true);
    hospital.principal_leader = "han.bo".into();
    let hospital = create_org(&mut system, "golmud-hospital", hospital).await;
    assert_eq!(derived(&hospital), (Some(true), true));
    assert_eq!(hospital.principal_leader, "han.bo");

    // The level above names the principal leader and a deputy, and clears an override.
    let mut haixi = app.client("haixi", &[Role::Supervisor]).await;
    let update =
        |name: &str, org: pb::Organization, paths: &[&str]| pb::UpdateOrganizationRequest {
            organization: Some(pb::Organization {
                name: name.into(),
                ..org
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
            request_id: String::new(),
        };
    let named = haixi
        .update_organization(update(
            "organizations/golmud-edu",
            pb::Organization {
                principal_leader: "chen.hua".into(),
                designated_deputy: "wu.dan".into(),
                ..Default::default()
            },
            &["principal_leader", "designated_deputy"],
        ))
        .await
        .expect("name leaders")
        .into_inner();
    assert_eq!(
        (
            named.principal_leader.as_str(),
            named.designated_deputy.as_str()
        ),
        ("chen.hua", "wu.dan")
    );
    let cleared = haixi
        .update_organization(update(
            "organizations/golmud-hospital",
            pb::Organization::default(),
            &["must_have_account"],
        ))
        .await
        .expect("clear")
        .into_inner();
    assert_eq!(derived(&cleared), (Some(false), false));
    // A unit does not name its own leader.
    let own = app
        .client("golmud-edu", &[Role::Supervisor])
        .await
        .update_organization(update(
            "organizations/golmud-edu",
            pb::Organization {
                principal_leader: "someone.else".into(),
                ..Default::default()
            },
            &["principal_leader"],
        ))
        .await;
    assert_error(own, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
}
backend_test!(
    coverage_duty_is_derived_unless_set_and_leaders_are_recorded_on,
    coverage_duty_is_derived_unless_set_and_leaders_are_recorded
);
