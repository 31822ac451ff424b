package app.fieldcrm.android.ui

import android.Manifest
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import app.fieldcrm.android.hasLocationPermission
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle
import kotlinx.coroutines.CoroutineScope

@Composable
fun FieldCrmTheme(content: @Composable () -> Unit) {
    MaterialTheme(colorScheme = if (isSystemInDarkTheme()) darkColorScheme() else lightColorScheme(), content = content)
}

/**
 * The AndroidX ViewModel around a plain logic view model: it survives configuration changes,
 * and its `viewModelScope` (cancelled when the screen leaves the back stack) is the logic's scope.
 */
class LogicHolder<T : Any>(create: (CoroutineScope) -> T) : ViewModel() {
    val logic: T = create(viewModelScope)
}

/** The logic view model of type [T] for this screen (and [key], e.g. a record id). */
@Composable
inline fun <reified T : Any> rememberLogic(key: String = "", noinline create: (CoroutineScope) -> T): T {
    val holder: LogicHolder<T> = viewModel(
        key = T::class.java.name + "/" + key,
        factory = viewModelFactory { initializer { LogicHolder(create) } },
    )
    return holder.logic
}

class LocationPermission(val granted: Boolean, val request: () -> Unit)

/** Whether location may be used, and the system dialog that asks for it. */
@Composable
fun rememberLocationPermission(): LocationPermission {
    val context = LocalContext.current
    var granted by remember { mutableStateOf(hasLocationPermission(context)) }
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { result ->
        granted = result.values.any { it }
    }
    return LocationPermission(granted) {
        launcher.launch(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION))
    }
}

/** Shows [content] once location is allowed; before that, why it is needed and a button to allow it. */
@Composable
fun LocationGate(permission: LocationPermission, why: String, content: @Composable () -> Unit) {
    if (permission.granted) {
        content()
        return
    }
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        Text(why, style = MaterialTheme.typography.bodyLarge)
        Text(
            "Choose \"Precise\": with an approximate location check-ins cannot be verified.",
            style = MaterialTheme.typography.bodySmall,
        )
        Button(onClick = permission.request) { Text("Allow location") }
    }
}

@Composable
fun Loading() {
    Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
}

@Composable
fun ErrorText(message: String?) {
    if (message != null) {
        Text(message, color = MaterialTheme.colorScheme.error, modifier = Modifier.fillMaxWidth().padding(vertical = 8.dp))
    }
}

private val shortDateTime = DateTimeFormatter.ofLocalizedDateTime(FormatStyle.SHORT)
private val shortTime = DateTimeFormatter.ofLocalizedTime(FormatStyle.SHORT)

fun formatDateTime(ms: Long): String = shortDateTime.format(Instant.ofEpochMilli(ms).atZone(ZoneId.systemDefault()))

fun formatTime(ms: Long): String = shortTime.format(Instant.ofEpochMilli(ms).atZone(ZoneId.systemDefault()))

private val mediumDate = DateTimeFormatter.ofLocalizedDate(FormatStyle.MEDIUM)

/** A calendar date kept as its first millisecond in UTC (a deal's expected close), shown as that date. */
fun formatDate(ms: Long): String = mediumDate.format(Instant.ofEpochMilli(ms).atZone(ZoneOffset.UTC))

/** `2026-12-31` as its first millisecond in UTC; null for a blank or malformed date. */
fun parseDate(text: String): Long? = runCatching {
    LocalDate.parse(text.trim()).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli()
}.getOrNull()

fun formatKm(metres: Double): String = "%.1f km".format(metres / 1000.0)
