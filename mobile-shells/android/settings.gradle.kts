// FieldCRM for Android. Not built on the project's CI machines (no Android SDK there): see
// README.md. The :logic module compiles the same sources that logic/pom.xml tests on the JVM.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "FieldCRM"
include(":app", ":logic")
