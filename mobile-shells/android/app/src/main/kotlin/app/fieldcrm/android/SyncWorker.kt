package app.fieldcrm.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import app.fieldcrm.android.logic.SyncOutcome
import java.util.concurrent.TimeUnit

/** Periodic background sync through the same [app.fieldcrm.android.logic.SyncRunner] as the button. */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val runner = (applicationContext as FieldCrmApp).container.currentRunner() ?: return Result.success()
        return when (val outcome = runner.run()) {
            is SyncOutcome.Synced, SyncOutcome.AlreadyRunning, SyncOutcome.NotSignedIn -> Result.success()
            is SyncOutcome.Offline -> Result.retry()
            // A refused token needs the rep; the next period tries again after a new login.
            is SyncOutcome.Failed -> if (outcome.needsSignIn) Result.failure() else Result.retry()
        }
    }

    companion object {
        private const val NAME = "fieldcrm-sync"

        fun schedule(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 1, TimeUnit.MINUTES)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(NAME, ExistingPeriodicWorkPolicy.KEEP, request)
        }

        fun cancel(context: Context) {
            WorkManager.getInstance(context).cancelUniqueWork(NAME)
        }
    }
}
