package app.fieldcrm.android

import android.app.Application

class FieldCrmApp : Application() {
    lateinit var container: AppContainer
        private set

    override fun onCreate() {
        super.onCreate()
        container = AppContainer(this)
        if (container.session.value != null) SyncWorker.schedule(this)
    }
}
