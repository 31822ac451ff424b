package app.fieldcrm.core.bench

import app.fieldcrm.core.Customer
import app.fieldcrm.core.FieldStore
import app.fieldcrm.core.GeoLocation
import app.fieldcrm.core.LocationSource
import app.fieldcrm.core.newCustomer
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.util.Locale
import java.util.concurrent.TimeUnit
import kotlin.math.max
import kotlin.math.roundToInt
import kotlin.random.Random

/*
 * The Kotlin FFI benchmark (scripts/bench-kotlin; a smoke run in scripts/test-kotlin):
 *
 *   mvn -f bindings/kotlin/pom.xml -q test-compile exec:java \
 *       -Dexec.mainClass=app.fieldcrm.core.bench.FfiBenchKt -Dexec.classpathScope=test \
 *       -Dfieldcrm.lib.dir=$PWD/target/release
 *
 * A fixed, seeded dataset of 10,000 customers (times FIELDCRM_BENCH_SCALE, at least 200) with
 * German-like names around Berlin is created through the Kotlin API (not timed; it warms up).
 * Then, timed call by call:
 *   kotlin_create_customer_median_ms  300 more createCustomer calls
 *   kotlin_search_median_ms           300 searchCustomers(prefix, 20) over fixed prefixes,
 *                                     after 50 untimed ones
 *   kotlin_ffi_overhead_ratio         that median over the median of the same searches run in
 *                                     Rust (search-reference) on the same store file
 * Timings are printed, never asserted.
 */

private const val BASE_CUSTOMERS = 10_000
private const val MIN_CUSTOMERS = 200
private const val TIMED = 300
private const val SEARCH_WARMUP = 50
private const val SEARCH_LIMIT = 20
private const val SEED = 20_261_123L

/** Fixed prefixes: short ones that fill the limit and longer, selective ones. */
val PREFIXES = listOf(
    "mü", "sch", "bäck", "apo", "kreuz", "neu", "wag", "gär", "metz", "hof",
    "kö", "blu", "fri", "sa", "web", "pank", "kl", "lang", "zie", "wein",
)

private val SURNAMES = listOf(
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke",
    "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Schumacher",
    "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich",
    "Brandt", "Haas", "Schreiber", "Graf", "Dietrich", "Ziegler", "Kuhn", "Pohl", "Engel",
    "Horn", "Busch", "Bergmann", "Voigt", "Sauer", "Arnold", "Pfeiffer",
)
private val TRADES = listOf(
    "Bäckerei", "Metzgerei", "Apotheke", "Blumen", "Getränke", "Autohaus", "Elektro",
    "Malerbetrieb", "Gärtnerei", "Buchhandlung", "Optik", "Friseur", "Café", "Weinhandel",
    "Schreinerei", "Sanitär", "Reisebüro", "Fahrräder", "Kiosk", "Zahnarztpraxis",
)
private val FORMS = listOf("GmbH", "& Söhne", "KG", "e.K.", "OHG")
private val DISTRICTS = listOf(
    "Mitte", "Kreuzberg", "Neukölln", "Pankow", "Spandau", "Charlottenburg", "Friedrichshain",
    "Prenzlauer Berg", "Schöneberg", "Tempelhof", "Wedding", "Moabit", "Köpenick", "Steglitz",
    "Lichtenberg", "Reinickendorf", "Treptow", "Marzahn", "Zehlendorf", "Wilmersdorf",
)
private val STREETS = listOf("Hauptstraße", "Gartenweg", "Lindenallee", "Bahnhofstraße", "Am Markt", "Kirchplatz")

/** The next customer of the seeded dataset (`rng` decides everything but `at`). */
private fun customer(rng: Random, at: Long): Customer {
    val surname = SURNAMES[rng.nextInt(SURNAMES.size)]
    val name = when (rng.nextInt(3)) {
        0 -> "${TRADES[rng.nextInt(TRADES.size)]} $surname"
        1 -> "$surname ${FORMS[rng.nextInt(FORMS.size)]}"
        else -> "${TRADES[rng.nextInt(TRADES.size)]} ${SURNAMES[rng.nextInt(SURNAMES.size)]} & $surname"
    }
    return newCustomer(name).apply {
        address = address.copy(
            line = "${STREETS[rng.nextInt(STREETS.size)]} ${1 + rng.nextInt(120)}",
            city = "Berlin",
            region = DISTRICTS[rng.nextInt(DISTRICTS.size)],
            postalCode = (10_115 + rng.nextInt(4_000)).toString(),
            country = "DE",
        )
        phones = listOf("+49 30 ${1_000_000 + rng.nextInt(9_000_000)}")
        // Around Berlin: about +-13 km north-south, +-13 km east-west.
        location = GeoLocation(
            lat = 52.52 + (rng.nextDouble() - 0.5) * 0.24,
            lon = 13.405 + (rng.nextDouble() - 0.5) * 0.40,
            source = LocationSource.Geocoded,
            at = at,
        )
        visitRadiusM = 150u
    }
}

private fun median(samples: DoubleArray): Double {
    val sorted = samples.sorted()
    val mid = sorted.size / 2
    return if (sorted.size % 2 == 1) sorted[mid] else (sorted[mid - 1] + sorted[mid]) / 2
}

private fun timedMs(block: () -> Unit): Double {
    val start = System.nanoTime()
    block()
    return (System.nanoTime() - start) / 1e6
}

private fun figure(name: String, value: Double, unit: String) =
    println("bench: $name = ${String.format(Locale.ROOT, "%.4f", value)} $unit")

private fun progress(message: String) = System.err.println("ffi-bench: $message")

/** Runs search-reference on the store file; its median (ms) and rows found. */
private fun rustSearch(reference: Path, store: Path, prefixes: Path): Pair<Double, Int> {
    check(Files.isExecutable(reference)) {
        "$reference is missing: cargo build -p fieldcrm-ffi --bin search-reference (or set -Dfieldcrm.search.reference)"
    }
    val process = ProcessBuilder(
        reference.toString(), "--store", store.toString(), "--prefixes-file", prefixes.toString(),
        "--warmup", SEARCH_WARMUP.toString(), "--runs", TIMED.toString(), "--limit", SEARCH_LIMIT.toString(),
    ).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val output = process.inputStream.bufferedReader().readText()
    check(process.waitFor(10, TimeUnit.MINUTES)) { "search-reference timed out" }
    check(process.exitValue() == 0) { "search-reference failed (exit ${process.exitValue()}): $output" }
    val values = output.lines().mapNotNull { line ->
        line.split('=', limit = 2).takeIf { it.size == 2 }?.let { it[0].trim() to it[1].trim() }
    }.toMap()
    val median = values["search_median_ms"]?.toDoubleOrNull() ?: error("no search_median_ms in: $output")
    val rows = values["rows"]?.toIntOrNull() ?: error("no rows in: $output")
    return median to rows
}

fun main() {
    val scale = System.getenv("FIELDCRM_BENCH_SCALE")?.takeIf { it.isNotBlank() }?.toDouble() ?: 1.0
    val customers = max(MIN_CUSTOMERS, (BASE_CUSTOMERS * scale).roundToInt())
    val libDir = Paths.get(System.getProperty("fieldcrm.lib.dir") ?: System.getProperty("jna.library.path") ?: "../../target/debug")
    val reference = Paths.get(
        System.getProperty("fieldcrm.search.reference")?.takeIf { it.isNotBlank() } ?: libDir.resolve("search-reference").toString(),
    ).toAbsolutePath().normalize()
    progress("library from ${libDir.toAbsolutePath().normalize()}, $customers customers (scale $scale)")

    val dir = Files.createTempDirectory("fieldcrm-ffi-bench")
    try {
        val storeFile = dir.resolve("bench.sqlite")
        val rng = Random(SEED)
        val at = 1_790_000_000_000L
        val kotlinRows: Int
        val createMedian: Double
        val searchMedian: Double
        FieldStore.open(storeFile.toString()).use { store ->
            val started = System.nanoTime()
            repeat(customers) { store.createCustomer(customer(rng, at)) }
            progress("dataset created in ${(System.nanoTime() - started) / 1_000_000} ms")

            val creates = DoubleArray(TIMED) {
                val record = customer(rng, at)
                timedMs { store.createCustomer(record) }
            }
            createMedian = median(creates)

            repeat(SEARCH_WARMUP) { store.searchCustomers(PREFIXES[it % PREFIXES.size], SEARCH_LIMIT.toUInt()) }
            var rows = 0
            val searches = DoubleArray(TIMED) { i ->
                val prefix = PREFIXES[i % PREFIXES.size]
                var found = 0
                val ms = timedMs { found = store.searchCustomers(prefix, SEARCH_LIMIT.toUInt()).size }
                rows += found
                ms
            }
            searchMedian = median(searches)
            kotlinRows = rows
            store.closeStore() // releases the file for the Rust reference
        }

        val prefixesFile = dir.resolve("prefixes.txt")
        Files.write(prefixesFile, PREFIXES)
        val (rustMedian, rustRows) = rustSearch(reference, storeFile, prefixesFile)
        check(rustRows == kotlinRows) { "Rust found $rustRows rows, Kotlin $kotlinRows: not the same searches" }
        progress("Rust search median ${String.format(Locale.ROOT, "%.4f", rustMedian)} ms, $rustRows rows on both sides")

        figure("kotlin_create_customer_median_ms", createMedian, "ms")
        figure("kotlin_search_median_ms", searchMedian, "ms")
        figure("kotlin_ffi_overhead_ratio", searchMedian / rustMedian, "x")
    } finally {
        dir.toFile().deleteRecursively()
    }
}
