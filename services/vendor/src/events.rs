//! What the vendor service tells the other services. Every state change publishes exactly one of
//! these (through the outbox, in the change's transaction) on the stream [`STREAM`]; the payload
//! messages are contracts in `vendor.proto`, and each carries the vendor as it is after the
//! change, so consumers need no call back.
//!
//! | event | published by |
//! |---|---|
//! | `VendorCreated` | CreateVendor |
//! | `VendorUpdated` | UpdateVendor, AddQualification |
//! | `VendorStatusChanged` | ApproveVendor, SuspendVendor, TerminateVendor, BlacklistVendor |
//! | `VendorVetted` | RecordVetting |

use govmedia_proto::vendor::v1 as pb;

/// The vendor service's event stream (Redis key `{prefix}events:vendor`).
pub const STREAM: &str = "vendor";

/// `VendorCreated`.
pub fn vendor_created(vendor: &pb::Vendor) -> pb::VendorCreated {
    pb::VendorCreated {
        vendor: Some(vendor.clone()),
    }
}

/// `VendorUpdated`.
pub fn vendor_updated(vendor: &pb::Vendor, changed: &[String]) -> pb::VendorUpdated {
    pb::VendorUpdated {
        vendor: Some(vendor.clone()),
        changed_fields: changed.to_vec(),
    }
}

/// `VendorStatusChanged`.
pub fn vendor_status_changed(
    vendor: &pb::Vendor,
    previous: i32,
    reason: &str,
) -> pb::VendorStatusChanged {
    pb::VendorStatusChanged {
        vendor: Some(vendor.clone()),
        previous_status: previous,
        reason: reason.to_owned(),
    }
}

/// `VendorVetted`.
pub fn vendor_vetted(vendor: &str, vetting: &pb::Vetting) -> pb::VendorVetted {
    pb::VendorVetted {
        vendor: vendor.to_owned(),
        vetting: Some(vetting.clone()),
    }
}
