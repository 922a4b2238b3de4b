//! `include/tilegrad.h` declares exactly the functions `src/ffi.rs` exports, and the
//! constants agree.

use std::collections::BTreeSet;

fn words_after(text: &str, marker: &str) -> BTreeSet<String> {
    text.match_indices(marker)
        .map(|(i, _)| {
            text[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_exported_function_is_declared_and_nothing_else() {
    let root = env!("CARGO_MANIFEST_DIR");
    let src = std::fs::read_to_string(format!("{root}/src/ffi.rs")).unwrap();
    let header = std::fs::read_to_string(format!("{root}/include/tilegrad.h")).unwrap();
    let exported = words_after(&src, "extern \"C\" fn ");
    let no_mangle = src.matches("#[no_mangle]").count();
    assert_eq!(exported.len(), no_mangle, "every extern fn is #[no_mangle]");
    // Declarations: an identifier starting with tg_ followed by `(`.
    let declared: BTreeSet<String> = header
        .match_indices("tg_")
        .filter_map(|(i, _)| {
            let name: String = header[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            header[i + name.len()..].starts_with('(').then_some(name)
        })
        .collect();
    assert!(exported.len() >= 10, "{exported:?}");
    assert_eq!(exported, declared);
}

#[test]
fn status_codes_and_launch_kinds_agree() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/tilegrad.h"))
            .unwrap();
    let consts = [
        ("TG_OK", tilegrad_capi::TG_OK),
        ("TG_NOT_TUNED", tilegrad_capi::TG_NOT_TUNED),
        ("TG_ERR_ARG", tilegrad_capi::TG_ERR_ARG),
        ("TG_ERR_DB", tilegrad_capi::TG_ERR_DB),
        ("TG_ERR_CODEGEN", tilegrad_capi::TG_ERR_CODEGEN),
        ("TG_ERR_INTERNAL", tilegrad_capi::TG_ERR_INTERNAL),
        ("TG_LAUNCH_CPU", tilegrad_capi::TG_LAUNCH_CPU),
        ("TG_LAUNCH_CUDA", tilegrad_capi::TG_LAUNCH_CUDA),
    ];
    for (name, value) in consts {
        assert!(
            header.contains(&format!("#define {name} {value}\n")),
            "{name}"
        );
    }
    assert_eq!(header.matches("#define TG_").count(), consts.len());
}
