package app.fieldcrm.core

import app.fieldcrm.core.Support.BERLIN_LAT
import app.fieldcrm.core.Support.BERLIN_LON
import app.fieldcrm.core.Support.customerNames
import app.fieldcrm.core.Support.located
import app.fieldcrm.core.Support.north
import app.fieldcrm.core.Support.nowMs
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.net.ServerSocket
import java.nio.file.Path

/** Two devices converge through the real fieldcrm-server binary, started on loopback. */
class SyncTest {
    companion object {
        @JvmStatic
        @AfterAll
        fun stopServers() = FieldCrmServer.killAll()
    }

    private class Device(val store: FieldStore, val token: String, val userId: String)

    /** A store signed in as `username`, its actor registered as the user's device. */
    private fun device(server: FieldCrmServer, dir: Path, username: String): Device {
        val (token, userId) = server.login(username)
        val store = open(dir, "$username.sqlite")
        store.setUser(userId)
        assertEquals(201, server.registerDevice(token, store.actorId()), "device registered")
        return Device(store, token, userId)
    }

    @Test
    fun `two stores converge through the server, forbidden writes are rejected and stay visible`(@TempDir dir: Path) {
        FieldCrmServer(dir, listOf("ana", "ben"), "kotlin secret pass").use { server ->
            val ana = device(server, dir, "ana")
            val ben = device(server, dir, "ben")
            try {
                converge(server, ana, ben)
            } finally {
                ana.store.close()
                ben.store.close()
            }
        }
    }

    @Test
    fun `a revoked device is told to wipe at its next sync and is left empty`(@TempDir dir: Path) {
        FieldCrmServer(dir, listOf("ana", "ben"), "kotlin secret pass").use { server ->
            val ana = device(server, dir, "ana")
            val tablet = device(server, dir.resolve("tablet").also { it.toFile().mkdirs() }, "ana")
            try {
                val hall = ana.store.createCustomer(
                    located("Fischhalle Krause", BERLIN_LAT, BERLIN_LON).apply { territory = "harbour" },
                )
                val http = HttpSyncTransport(server.base, ana.token)
                assertEquals(1uL, ana.store.sync(http).pushed)
                val unsent = ana.store.createCustomer(
                    located("Noch nicht gesendet", BERLIN_LAT, BERLIN_LON).apply { territory = "harbour" },
                )
                val actor = ana.store.actorId()

                server.revokeDevice(actor)

                assertThrows<FieldCrmException.DeviceRevoked> { ana.store.sync(http) }
                assertNull(ana.store.getCustomer(hall.meta.id))
                assertNull(ana.store.getCustomer(unsent.meta.id))
                val status = ana.store.syncStatus()
                assertEquals(0uL, status.pendingChanges)
                assertEquals(0L, status.cursor)
                assertEquals("device_revoked", status.lastErrorCode)
                assertEquals("local", ana.store.user(), "the user binding is gone")
                assertTrue(ana.store.actorId() != actor, "a fresh actor id")
                // The user's other device keeps syncing.
                tablet.store.syncWithBuiltinHttp(server.base, tablet.token)
                assertNotNull(tablet.store.getCustomer(hall.meta.id))
            } finally {
                ana.store.close()
                tablet.store.close()
            }
        }
    }

    private fun converge(server: FieldCrmServer, ana: Device, ben: Device) {
        // Ana, offline: a customer in harbour, a planned visit, a drive with pings, check in/out.
        val now = nowMs()
        val hall = ana.store.createCustomer(
            located("Fischhalle Krause", BERLIN_LAT, BERLIN_LON).apply {
                territory = "harbour"
                visitRadiusM = 100u
            },
        )
        val visit = ana.store.createVisit(newVisit(hall.meta.id, ana.userId).apply { plannedStart = now - 30 * 60_000L })
        val drive = (0 until 10).map { i ->
            GpsFix(north(BERLIN_LAT, -1_000.0 + i * 100.0), BERLIN_LON, 8.0, now - (25 - i) * 60_000L)
        }
        assertEquals(10u, ana.store.recordPings(drive))
        val checkedIn = ana.store.checkIn(visit.meta.id, GpsFix(north(BERLIN_LAT, 10.0), BERLIN_LON, 12.0, now - 4 * 60_000L))
        assertEquals(Verification.Verified, checkedIn.verification)
        ana.store.checkOut(visit.meta.id, GpsFix(BERLIN_LAT, BERLIN_LON, 12.0, now - 60_000L), "Ordered herring")
        assertEquals(10uL, ana.store.syncStatus().pendingPings)

        // Ana's app syncs through its own transport, implemented in Kotlin.
        val anaHttp = HttpSyncTransport(server.base, ana.token)
        val report = ana.store.sync(anaHttp)
        assertEquals(0uL, report.rejected, "$report")
        assertTrue(report.pushed >= 2uL, "the customer and the visit were pushed: $report")
        assertEquals(10u, report.pingsUploaded)
        for (path in listOf("/v1/sync/push", "/v1/sync/pull", "/v1/sync/pings")) {
            assertTrue(anaHttp.count(path) >= 1, "$path went through the Kotlin transport: ${anaHttp.requests}")
        }
        ana.store.syncStatus().let { status ->
            assertEquals(0uL, status.pendingChanges)
            assertEquals(0uL, status.pendingPings)
            assertNotNull(status.lastSyncAt)
            assertNull(status.lastError)
            assertEquals(false, status.syncing)
        }

        // Ben's app uses the built-in HTTP client; a live query sees the pulled customer.
        val live = QueueListener()
        ben.store.subscribe(Query.SearchCustomers("fisch", 10u), live).use {
            assertEquals(emptyList<String>(), customerNames(live.next()!!))
            val benReport = ben.store.syncWithBuiltinHttp(server.base, ben.token)
            assertTrue(benReport.pulledDocs >= 1u, "$benReport")
            assertEquals(ana.store.getCustomer(hall.meta.id), ben.store.getCustomer(hall.meta.id))
            assertEquals(listOf("Fischhalle Krause"), customerNames(live.next() ?: error("no live update after the pull")))
        }
        val benVisit = ben.store.getVisit(visit.meta.id)
        if (benVisit != null) { // a teammate may see the visit; if so, with its verified check-in
            assertEquals(checkedIn.checkIn, benVisit.checkIn)
        }

        // Edits of different fields on both devices merge.
        val onBen = ben.store.getCustomer(hall.meta.id)!!
        ben.store.updateCustomer(onBen.copy(phones = listOf("+49 30 123 456")))
        val onAna = ana.store.getCustomer(hall.meta.id)!!
        ana.store.updateCustomer(onAna.copy(grade = Grade.B))
        ben.store.syncWithBuiltinHttp(server.base, ben.token)
        ana.store.sync(anaHttp)
        ben.store.syncWithBuiltinHttp(server.base, ben.token)
        for (device in listOf(ana, ben)) {
            val merged = device.store.getCustomer(hall.meta.id)!!
            assertEquals(Grade.B, merged.grade, "ana's edit on ${device.userId}")
            assertEquals(listOf("+49 30 123 456"), merged.phones, "ben's edit on ${device.userId}")
        }
        assertEquals(ana.store.getCustomer(hall.meta.id), ben.store.getCustomer(hall.meta.id))

        // A write ben may not make (territory hills is nobody's): rejected, and it stays.
        val hills = ben.store.createCustomer(newCustomer("Bergbaude Schmidt").apply { territory = "hills" })
        val refused = ben.store.syncWithBuiltinHttp(server.base, ben.token)
        assertEquals(1uL, refused.rejected, "$refused")
        val rejected = ben.store.rejectedChanges()
        assertEquals(1, rejected.size, "$rejected")
        assertEquals(hills.meta.id, rejected[0].docId)
        assertEquals(RejectCode.FORBIDDEN, rejected[0].code)
        assertEquals(RecordKind.CUSTOMER, rejected[0].kind)
        assertTrue(rejected[0].reason.isNotBlank(), "a reason for people")
        assertEquals(1uL, ben.store.syncStatus().rejectedChanges)
        assertEquals(hills, ben.store.getCustomer(hills.meta.id), "the edit stays on the device")
        assertEquals(listOf("Bergbaude Schmidt"), Support.names(ben.store.searchCustomers("bergbaude", 5u)))
        ana.store.sync(anaHttp)
        assertNull(ana.store.getCustomer(hills.meta.id), "ana never gets it")
        ben.store.dismissRejections(hills.meta.id)
        assertTrue(ben.store.rejectedChanges().isEmpty())

        // A refused request through the Kotlin transport is a typed error, recorded in the status.
        val unauthorized = assertThrows<FieldCrmException.ServerRefused> {
            ana.store.sync(HttpSyncTransport(server.base, "not a token"))
        }
        assertEquals(401.toUShort(), unauthorized.status)
        assertTrue(unauthorized.code.isNotBlank() && unauthorized.code != "unknown", unauthorized.code)
        assertNotNull(ana.store.syncStatus().lastError)
    }

    @Test
    fun `a transport that cannot reach the server throws Offline, which sync retries and reports`(@TempDir dir: Path) {
        val closedPort = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
        open(dir).use { store ->
            store.createTask(newTask("Call back"))
            val transport = HttpSyncTransport("http://127.0.0.1:$closedPort", "token")
            val offline = assertThrows<FieldCrmException.Offline> { store.sync(transport) }
            assertTrue(offline.reason.isNotBlank())
            assertTrue(transport.count("/v1/sync/push") > 1, "offline is retried: ${transport.requests}")
            val status = store.syncStatus()
            assertEquals(1uL, status.pendingChanges, "nothing lost")
            assertNotNull(status.lastError)
            assertEquals(false, status.syncing)
        }
    }
}
