package app.fieldcrm.core

import java.nio.file.Path

/** Helpers shared by the tests: what a host app would write around the generated API. */
object Support {
    /** Berlin, Alexanderplatz. */
    const val BERLIN_LAT = 52.5219
    const val BERLIN_LON = 13.4132

    fun nowMs(): Long = System.currentTimeMillis()

    fun open(dir: Path, name: String = "crm.sqlite"): FieldStore =
        FieldStore.open(dir.resolve(name).toString())

    /** A new customer with a city and a GPS location. */
    fun located(name: String, lat: Double, lon: Double, city: String = "Berlin"): Customer =
        newCustomer(name).apply {
            address = address.copy(city = city)
            location = GeoLocation(lat, lon, LocationSource.Gps, nowMs())
        }

    /** The point `metres` north of (`lat`, `lon`) (one degree of latitude is ~111.2 km). */
    fun north(lat: Double, metres: Double): Double = lat + metres / 111_195.0

    fun fix(lat: Double, lon: Double, accuracyM: Double = 10.0, agoMs: Long = 60_000): GpsFix =
        GpsFix(lat = lat, lon = lon, accuracyM = accuracyM, fixAt = nowMs() - agoMs)

    fun names(rows: List<CustomerSummary>): List<String> = rows.map { it.name }

    fun customerNames(result: QueryResult): List<String> = when (result) {
        is QueryResult.Customers -> names(result.rows)
        else -> error("customer rows expected, got $result")
    }
}
