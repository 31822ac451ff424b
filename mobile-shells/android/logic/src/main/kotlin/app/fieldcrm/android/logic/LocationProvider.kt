package app.fieldcrm.android.logic

import app.fieldcrm.core.GpsFix

/**
 * The device's position. The app implements it with the fused location provider
 * (`getCurrentLocation`, high accuracy; `Location.isMock` into [GpsFix.mock]); tests use a fake.
 */
fun interface LocationProvider {
    /** A fresh fix, or null when there is none (no permission, location off, no fix in time). */
    suspend fun currentFix(): GpsFix?
}

/**
 * Records every fix [inner] takes as a location ping (they upload with the next sync), so the
 * manager's route review sees where the rep was between visits without background tracking.
 */
class RecordingLocationProvider(
    private val inner: LocationProvider,
    private val repository: FieldRepository,
) : LocationProvider {
    override suspend fun currentFix(): GpsFix? {
        val fix = inner.currentFix() ?: return null
        // A ping that cannot be stored (a fix the store refuses) must not cost the rep the fix.
        attempt { repository.recordPings(listOf(fix)) }
        return fix
    }
}
