package app.fieldcrm.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.os.Build
import androidx.core.content.ContextCompat
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.core.GpsFix
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import com.google.android.gms.tasks.CancellationTokenSource
import kotlinx.coroutines.tasks.await
import kotlinx.coroutines.withTimeoutOrNull

fun hasLocationPermission(context: Context): Boolean =
    listOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION).any {
        ContextCompat.checkSelfPermission(context, it) == PackageManager.PERMISSION_GRANTED
    }

/** A fresh high-accuracy fix from the fused location provider; null without permission or fix. */
class FusedLocationProvider(private val context: Context) : LocationProvider {
    private val client = LocationServices.getFusedLocationProviderClient(context)

    @SuppressLint("MissingPermission") // checked first
    override suspend fun currentFix(): GpsFix? {
        if (!hasLocationPermission(context)) return null
        val cancellation = CancellationTokenSource()
        return try {
            withTimeoutOrNull(30_000) {
                client.getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, cancellation.token).await()
            }?.toFix()
        } catch (e: SecurityException) { // permission revoked meanwhile
            null
        } finally {
            cancellation.cancel()
        }
    }
}

fun Location.toFix() = GpsFix(
    lat = latitude,
    lon = longitude,
    // Without an accuracy the check-in cannot be verified: a large radius makes it "uncertain".
    accuracyM = if (hasAccuracy()) accuracy.toDouble() else 1_000.0,
    fixAt = time,
    mock = if (Build.VERSION.SDK_INT >= 31) isMock else @Suppress("DEPRECATION") isFromMockProvider,
)
