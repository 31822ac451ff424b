// swift-tools-version:5.9
// FieldCRMCore for iOS apps: the uniffi-generated Swift API over the Rust core
// (bindings/src, crate fieldcrm-ffi) and the static library it calls.
//
// Neither part is committed. On a Mac, scripts/build-xcframework builds
// FieldCRMCoreFFI.xcframework (static libraries, FieldCRMCoreFFI.h, module.modulemap) next to
// this file and copies the generated FieldCRMCore.swift into Sources/FieldCRMCore/.
// The names follow bindings/uniffi.toml ([bindings.swift] module_name, ffi_module_name);
// scripts/check-swift-package (run by scripts/test) checks that they still agree.
import PackageDescription

let package = Package(
    name: "FieldCRMCore",
    // iOS only: the XCFramework carries device and simulator slices, no macOS one.
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "FieldCRMCore", targets: ["FieldCRMCore"]),
    ],
    targets: [
        .binaryTarget(name: "FieldCRMCoreFFI", path: "FieldCRMCoreFFI.xcframework"),
        .target(
            name: "FieldCRMCore",
            dependencies: ["FieldCRMCoreFFI"],
            path: "Sources/FieldCRMCore",
            exclude: ["README.md"],
            // SQLCipher in the static library encrypts with CommonCrypto (Security.framework);
            // a static library cannot carry that link itself.
            linkerSettings: [.linkedFramework("Security")]
        ),
    ]
)
