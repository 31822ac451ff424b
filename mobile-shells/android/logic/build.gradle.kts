// The Gradle face of the logic module: an Android library compiling the plain-Kotlin logic
// (src/main/kotlin, no Android imports) together with the uniffi-generated bindings, which
// scripts/generate-bindings writes to bindings/generated/kotlin. On the JVM the same sources are
// compiled and tested by pom.xml beside this file (scripts/test-android-logic).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.fieldcrm.android.logic"
    compileSdk = 36

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets {
        getByName("main") {
            kotlin.srcDirs("src/main/kotlin", "../../../bindings/generated/kotlin")
        }
        // The tests run on the JVM with Maven against the host library, not here.
        getByName("test") {
            kotlin.setSrcDirs(emptyList<String>())
            java.setSrcDirs(emptyList<String>())
        }
    }
}

kotlin {
    jvmToolchain(17)
    compilerOptions {
        optIn.addAll("kotlinx.coroutines.FlowPreview", "kotlinx.coroutines.ExperimentalCoroutinesApi")
    }
}

dependencies {
    // The generated bindings call into libfieldcrm_ffi.so through JNA; the AAR carries
    // libjnidispatch.so for every Android ABI.
    api("net.java.dev.jna:jna:5.19.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.11.0")
    api("com.squareup.okhttp3:okhttp:4.12.0")
    implementation("org.jetbrains.kotlinx:kotlinx-serialization-json:1.9.0")
}
