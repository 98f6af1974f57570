//! govmedia's contracts as Rust: the prost messages and tonic stubs generated from `proto/`, the
//! descriptor set served by reflection, and the access table read from the RPC options.
//!
//! Only the `grpc` layer of a service uses these types; domain code has its own.

// Generated code follows the proto, not our lint settings.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
mod generated {
    pub mod govmedia {
        pub mod common {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.common.v1.rs"));
            }
        }
        pub mod filing {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.filing.v1.rs"));
            }
        }
        pub mod gateway {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.gateway.v1.rs"));
            }
        }
        pub mod inspection {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.inspection.v1.rs"));
            }
        }
        pub mod registry {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.registry.v1.rs"));
            }
        }
        pub mod routing {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.routing.v1.rs"));
            }
        }
        pub mod vendor {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/govmedia.vendor.v1.rs"));
            }
        }
    }
}

pub use generated::govmedia::{common, filing, gateway, inspection, registry, routing, vendor};

/// The encoded `FileDescriptorSet` of every govmedia proto and its imports, with source info (so
/// reflection shows comments) and custom options (so it shows who may call each method).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/govmedia_descriptor.bin"));

mod access {
    include!(concat!(env!("OUT_DIR"), "/method_access.rs"));
}

/// The access option of one govmedia method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MethodRule {
    /// gRPC path, `/package.Service/Method`.
    pub path: &'static str,
    /// Roles allowed to call it.
    pub roles: &'static [common::v1::Role],
    /// Read or write.
    pub class: common::v1::MethodClass,
}

/// The access rule of a govmedia method, by gRPC path (`/package.Service/Method`). `None` means
/// the path is not a govmedia method at all.
pub fn method_access(path: &str) -> Option<&'static MethodRule> {
    access::METHOD_ACCESS
        .binary_search_by(|rule| rule.path.cmp(path))
        .ok()
        .map(|index| &access::METHOD_ACCESS[index])
}

/// Every govmedia method's rule, sorted by path.
pub fn all_method_access() -> &'static [MethodRule] {
    access::METHOD_ACCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::v1::Role;

    #[test]
    fn access_table_is_read_from_the_proto_options() {
        let rule =
            method_access("/govmedia.registry.v1.RegistryService/CreateAccount").expect("rule");
        assert_eq!(rule.roles, &[Role::System][..]);
        assert_eq!(rule.class, common::v1::MethodClass::Write);
        let read =
            method_access("/govmedia.registry.v1.RegistryService/ListAccounts").expect("rule");
        assert_eq!(read.class, common::v1::MethodClass::Read);
        assert_eq!(method_access("/grpc.health.v1.Health/Check"), None);
        assert!(all_method_access().len() >= 21);
    }

    #[test]
    fn descriptor_set_keeps_comments() {
        let text = String::from_utf8_lossy(FILE_DESCRIPTOR_SET);
        assert!(text.contains("The account ledger service."));
    }
}
