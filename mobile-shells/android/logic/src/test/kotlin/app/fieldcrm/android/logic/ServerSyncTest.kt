package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.RecordKind
import app.fieldcrm.core.RejectCode
import app.fieldcrm.core.Verification
import java.net.InetAddress
import java.net.ServerSocket
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/**
 * The app's flows against a real `fieldcrm-server` process on a loopback port: login and device
 * registration, edits through the view models, sync over OkHttp, a second rep's device.
 */
@Timeout(180)
class ServerSyncTest : StoreTest() {
    private var server: ServerProcess? = null

    @AfterEach
    fun stopServer() {
        server?.close()
    }

    private fun startServer(): ServerProcess {
        val db = dir.resolve("server.sqlite")
        if (server == null) ServerProcess.seed(db)
        return ServerProcess.start(db).also { server = it }
    }

    @Test
    fun `two reps of a territory share a customer through the real server`() = runBlocking<Unit> {
        val base = startServer().base

        // Ana signs in through the login screen's view model; her store opens for her user id.
        val sessions = InMemorySessionStore()
        var anaStore: FieldRepository? = null
        val signedIn = mutableListOf<Session>()
        val login = LoginViewModel(
            scope,
            sessions,
            repositoryFor = { userId -> repository(storeFileName(userId), user = null).also { anaStore = it } },
            authApi = { AuthApi(it, dispatcher = io) },
            onSignedIn = { signedIn += it },
        )
        login.signIn(base, "ana", "wrong password").join()
        login.state.await { it.message == "Wrong username or password." && !it.busy }
        assertNull(sessions.load())
        login.signIn("$base/", "ana", PASSWORD).join()
        val session = login.state.await { it.session != null }.session!!
        assertEquals(session, sessions.load())
        assertEquals(listOf(session), signedIn)
        assertEquals(base, session.serverUrl)
        val ana = anaStore!!
        assertEquals(session.userId, ana.userId())

        // She creates a customer where she stands, starts a visit and checks in.
        val anaLocation = FakeLocation(fix(53.5448, 9.9390))
        val anaList = CustomerListViewModel(ana, scope, anaLocation, debounceMs = 50)
        val shop = anaList.createCustomer(CustomerDraft("Fischhalle Altona", territory = "harbour"), atCurrentLocation = true)!!
        // ... and one in a territory she does not work in: the server will refuse it.
        val elsewhere = anaList.createCustomer(CustomerDraft("Hofladen Berg", territory = "hills"))!!
        ana.createContact(shop.meta.id, "Max Weber", title = "Owner", phones = listOf("+49 40 2"))
        val anaDetail = CustomerDetailViewModel(ana, scope, shop.meta.id, clock)
        val visitId = anaDetail.startVisit()!!
        val visit = VisitViewModel(ana, scope, anaLocation, visitId)
        visit.state.await { it.canCheckIn }
        visit.checkIn().join()
        assertEquals(Verification.Verified, visit.state.await { it.visit?.checkIn != null && !it.busy }.verification)
        // Her customer screen's history follows the check-in.
        val history = anaDetail.state.await { it.visitHistory.firstOrNull()?.verification != null }.visitHistory
        assertEquals(listOf(visitId), history.map { it.id })
        assertEquals(Verification.Verified, history[0].verification)
        assertEquals(1, ana.recordPings(listOf(fix(53.54, 9.93))))

        // The sync button: OkHttp transport with the session's token.
        val anaRunner = SyncRunner(ana) { sessions.load()?.let { s -> OkHttpSyncTransport(s.serverUrl) { s.token } } }
        val anaSync = SyncViewModel(ana, anaRunner, scope)
        anaSync.state.await { it.pendingChanges > 0 && it.pendingPings == 1L }
        anaSync.syncNow().join()
        val synced = anaSync.state.await { it.phase == SyncPhase.IDLE && it.pendingChanges == 0L && it.rejected.isNotEmpty() }
        assertNotNull(synced.lastSyncedAt)
        assertEquals(0L, synced.pendingPings, "pings uploaded")
        assertNull(synced.message)
        val report = (anaRunner.lastOutcome as SyncOutcome.Synced).report
        assertEquals(1L, report.rejected.toLong())
        assertEquals(1u, report.pingsUploaded)
        val rejected = synced.rejected.single()
        assertEquals(elsewhere.meta.id, rejected.docId)
        assertEquals(RejectCode.FORBIDDEN, rejected.code)
        assertEquals(RecordKind.CUSTOMER, rejected.kind)
        assertTrue(rejected.reason.isNotBlank(), "the server's reason is shown")
        anaSync.dismiss(elsewhere.meta.id).join()
        anaSync.state.await { it.rejected.isEmpty() }
        assertNotNull(ana.customer(elsewhere.meta.id), "the refused edit stays on the phone")
        // Another refused customer, discarded: it leaves the phone (the server never had it).
        val refused = anaList.createCustomer(CustomerDraft("Hofladen Tal", territory = "hills"))!!
        anaSync.syncNow().join()
        anaSync.state.await { s -> s.phase == SyncPhase.IDLE && s.rejected.any { it.docId == refused.meta.id } }
        anaSync.discard(refused.meta.id).join()
        anaSync.state.await { it.rejected.isEmpty() && it.pendingChanges == 0L }
        assertNull(ana.customer(refused.meta.id), "a discarded creation leaves the phone")
        // Nothing left to resolve: a message, nothing changes.
        anaSync.retry(refused.meta.id).join()
        assertNotNull(anaSync.state.await { it.message != null }.message)

        // Ben, another rep of harbour, on his own phone: AuthApi directly.
        val auth = AuthApi(base, dispatcher = io)
        val benLogin = auth.login("ben", PASSWORD)
        val ben = repository("ben.sqlite", user = benLogin.userId)
        assertTrue(auth.registerDevice(benLogin.token, ben.actorId()))
        assertFalse(auth.registerDevice(benLogin.token, ben.actorId()), "registering again is harmless")
        val benList = CustomerListViewModel(ben, scope, debounceMs = 50)
        benList.onQueryChange("fisch")
        benList.state.await { it.query == "fisch" && !it.searching && it.customers.isEmpty() }
        // His customer screen, opened before the sync, shows the customer and its contact after it.
        val benDetail = CustomerDetailViewModel(ben, scope, shop.meta.id, clock)
        assertEquals("This customer is not on this phone.", benDetail.state.await { !it.loading }.message)
        val benRunner = SyncRunner(ben) { OkHttpSyncTransport(base) { benLogin.token } }
        val pulled = benRunner.run() as SyncOutcome.Synced
        val benShop = benDetail.state.await { it.customer != null && it.contacts.isNotEmpty() }
        assertEquals(listOf("Max Weber" to "Owner"), benShop.contacts.map { it.name to it.title })
        assertEquals(listOf("+49 40 2"), benShop.contacts[0].phones)
        assertEquals(emptyList<Any>(), benShop.visitHistory, "ana's visits are hers")
        assertTrue(pulled.report.pulledDocs >= 1u)
        val found = benList.state.await { it.customers.isNotEmpty() }
        assertEquals(listOf(shop.meta.id), found.customers.map { it.id })
        assertEquals(53.5448, ben.customer(shop.meta.id)!!.location!!.lat, 1e-9)
        assertNull(ben.customer(elsewhere.meta.id), "never reached the server")
        assertNull(ben.visit(visitId), "ana's visits are hers")

        // A refused token asks for a new login; device registration errors carry the server's code.
        val expired = SyncRunner(ben) { OkHttpSyncTransport(base) { "not a token" } }.run() as SyncOutcome.Failed
        assertTrue(expired.needsSignIn)
        assertEquals("invalid_token", (expired.error as FieldCrmException.ServerRefused).code)
        val taken = assertFailsWith<FieldCrmException.ServerRefused> { auth.registerDevice(session.token, ben.actorId()) }
        assertEquals(409 to "actor_taken", taken.status.toInt() to taken.code)
        val malformed = assertFailsWith<FieldCrmException.ServerRefused> { auth.registerDevice(benLogin.token, "not hex") }
        assertEquals(400 to "bad_request", malformed.status.toInt() to malformed.code)
    }

    @Test
    fun `a revoked phone is wiped and signed out at its next sync`() = runBlocking<Unit> {
        val base = startServer().base
        val auth = AuthApi(base, dispatcher = io)
        val login = auth.login("ana", PASSWORD)
        val ana = repository("ana.sqlite", user = login.userId)
        assertTrue(auth.registerDevice(login.token, ana.actorId()))
        val sessions = InMemorySessionStore(Session(base, login.userId, "ana", login.token, login.expiresAt))
        val runner = SyncRunner(
            ana,
            transport = { sessions.load()?.let { s -> OkHttpSyncTransport(s.serverUrl) { s.token } } },
            onDeviceRevoked = { sessions.save(null) },
        )
        val list = CustomerListViewModel(ana, scope, debounceMs = 0)
        val kiosk = list.createCustomer(CustomerDraft("Kiosk am Deich", territory = "harbour"))!!
        assertTrue(runner.run() is SyncOutcome.Synced)
        val unsent = list.createCustomer(CustomerDraft("Noch nicht gesendet", territory = "harbour"))!!

        // The admin revokes the lost phone.
        ServerProcess.admin(dir.resolve("server.sqlite"), "device", "revoke", "--device", ana.actorId())

        val revoked = runner.run() as SyncOutcome.Failed
        assertTrue(revoked.deviceRevoked && revoked.needsSignIn)
        assertEquals(FieldCrmException.DeviceRevoked().userMessage(), revoked.message)
        assertNull(sessions.load(), "signed out")
        assertNull(ana.customer(kiosk.meta.id))
        assertNull(ana.customer(unsent.meta.id))
        val status = ana.syncStatusNow()
        assertEquals(0L, status.pendingChanges.toLong())
        assertEquals("device_revoked", status.lastErrorCode)
        // The next run finds nobody signed in.
        assertEquals(SyncOutcome.NotSignedIn, runner.run())
    }

    @Test
    fun `a stopped server or a wrong port is offline, and nothing is lost`() = runBlocking<Unit> {
        var base = startServer().base
        val closedPort = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val wrong = "http://127.0.0.1:$closedPort"
        // The transport itself: a request that does not reach a server is Offline at once.
        assertFailsWith<FieldCrmException.Offline> { OkHttpSyncTransport(wrong) { "token" }.push(ByteArray(0)) }
        assertFailsWith<FieldCrmException.Offline> { AuthApi(wrong, dispatcher = io).login("ana", PASSWORD) }
        val noServer = LoginViewModel(scope, InMemorySessionStore(), { error("not reached") }, { AuthApi(it, dispatcher = io) })
        noServer.signIn(wrong, "ana", PASSWORD).join()
        noServer.state.await { it.message == FieldCrmException.Offline("").userMessage() && !it.busy }

        val auth = AuthApi(base, dispatcher = io)
        val login = auth.login("ana", PASSWORD)
        val ana = repository("ana.sqlite", user = login.userId)
        auth.registerDevice(login.token, ana.actorId())
        val runner = SyncRunner(ana) { OkHttpSyncTransport(base) { login.token } }
        val sync = SyncViewModel(ana, runner, scope)
        val list = CustomerListViewModel(ana, scope, debounceMs = 0)
        val kiosk = list.createCustomer(CustomerDraft("Kiosk am Deich", territory = "harbour"))!!

        server!!.close()
        sync.syncNow().join() // the library retries with backoff (about 7.5 s), then gives up
        val offline = sync.state.await { it.phase == SyncPhase.OFFLINE }
        assertEquals(1L, offline.pendingChanges)
        assertEquals("Offline. 1 change waits on this phone and sync later.", offline.message)
        assertTrue(runner.lastOutcome is SyncOutcome.Offline)
        list.onQueryChange("deich")
        assertEquals(listOf(kiosk.meta.id), list.state.await { it.customers.isNotEmpty() }.customers.map { it.id })

        // The server is back (on another port): the waiting change goes up.
        base = startServer().base
        sync.syncNow().join()
        val back = sync.state.await { it.phase == SyncPhase.IDLE && it.pendingChanges == 0L }
        assertNotNull(back.lastSyncedAt)
        assertNull(back.message)
    }
}
