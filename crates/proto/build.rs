//! Compiles `proto/` without a system `protoc` and generates, per package, the prost messages and
//! tonic stubs, plus two artefacts the runtime needs:
//!
//! * `govmedia_descriptor.bin`: the full descriptor set, imports and comments included and custom
//!   options preserved, served by reflection so `grpcurl describe` shows the documentation.
//! * `method_access.rs`: the `(govmedia.common.v1.access)` option of every RPC as a static table.
//!   The build fails when a govmedia RPC has no access option, so a method can never be left open by
//!   forgetting to say who may call it.

use std::{env, fmt::Write as _, fs, path::PathBuf};

use prost_reflect::{DescriptorPool, Value};

/// One entry per proto file. Adding a service means adding its file here.
const PROTO_FILES: &[&str] = &[
    "govmedia/common/v1/common.proto",
    "govmedia/filing/v1/filing.proto",
    "govmedia/gateway/v1/gateway.proto",
    "govmedia/inspection/v1/inspection.proto",
    "govmedia/registry/v1/registry.proto",
    "govmedia/routing/v1/routing.proto",
    "govmedia/vendor/v1/vendor.proto",
];

const ACCESS_EXTENSION: &str = "govmedia.common.v1.access";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTO_FILES)?;

    // The prost_types form drops custom options; the encoded form from protox keeps them, which is
    // what reflection clients need to show the access option.
    fs::write(
        out_dir.join("govmedia_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    fs::write(
        out_dir.join("method_access.rs"),
        method_access_table(&compiler.descriptor_pool())?,
    )?;

    // Type names (`prost::Name`) let event payloads say what they are without a second table.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(compiler.file_descriptor_set(), config)?;
    Ok(())
}

/// Renders `METHOD_ACCESS`: `(grpc path, allowed roles)` for every govmedia RPC, sorted by path.
fn method_access_table(pool: &DescriptorPool) -> Result<String, Box<dyn std::error::Error>> {
    let extension = pool
        .get_extension_by_name(ACCESS_EXTENSION)
        .ok_or("the govmedia.common.v1.access extension is missing from common.proto")?;
    let role_enum = pool
        .get_enum_by_name("govmedia.common.v1.Role")
        .ok_or("govmedia.common.v1.Role is missing")?;
    let class_enum = pool
        .get_enum_by_name("govmedia.common.v1.MethodClass")
        .ok_or("govmedia.common.v1.MethodClass is missing")?;

    let mut rows = Vec::new();
    for service in pool.services() {
        if !service.full_name().starts_with("govmedia.") {
            continue;
        }
        for method in service.methods() {
            let path = format!("/{}/{}", service.full_name(), method.name());
            let options = method.options();
            if !options.has_extension(&extension) {
                return Err(format!("{path} has no (govmedia.common.v1.access) option").into());
            }
            let access = options.get_extension(&extension);
            let Value::Message(message) = access.as_ref() else {
                return Err(format!("{path}: access option is not a message").into());
            };
            let class = message
                .get_field_by_name("class")
                .as_deref()
                .and_then(Value::as_enum_number)
                .filter(|number| *number != 0)
                .and_then(|number| class_enum.get_value(number))
                .map(|value| to_pascal(value.name().trim_start_matches("METHOD_CLASS_")))
                .ok_or_else(|| format!("{path} has no `class` in its access option"))?;
            let roles = match message.get_field_by_name("roles").as_deref() {
                Some(Value::List(values)) => values
                    .iter()
                    .filter_map(Value::as_enum_number)
                    .map(|number| {
                        role_enum
                            .get_value(number)
                            .map(|value| to_pascal(value.name().trim_start_matches("ROLE_")))
                            .ok_or_else(|| format!("{path}: unknown role number {number}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => Vec::new(),
            };
            rows.push((path, roles, class));
        }
    }
    rows.sort();

    let mut out = String::from(
        "/// The `(govmedia.common.v1.access)` option of every govmedia method, sorted by path.\n\
         pub static METHOD_ACCESS: &[crate::MethodRule] = &[\n",
    );
    for (path, roles, class) in rows {
        let roles: Vec<String> = roles
            .iter()
            .map(|role| format!("crate::common::v1::Role::{role}"))
            .collect();
        writeln!(
            out,
            "    crate::MethodRule {{ path: {path:?}, roles: &[{}], class: crate::common::v1::MethodClass::{class} }},",
            roles.join(", ")
        )?;
    }
    out.push_str("];\n");
    Ok(out)
}

fn to_pascal(upper_snake: &str) -> String {
    upper_snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_string() + &chars.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}
