package app.fieldcrm.core

import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * Resolving changes the server refused, through the bindings and the real fieldcrm-server
 * binary: a customer refused for its missing territory is fixed, retried and reaches the other
 * rep; another refused customer is discarded.
 */
class RejectedChangesTest {
    companion object {
        @JvmStatic
        @AfterAll
        fun stopServers() = FieldCrmServer.killAll()
    }

    private class Device(val store: FieldStore, val token: String)

    private fun device(server: FieldCrmServer, dir: Path, username: String): Device {
        val (token, userId) = server.login(username)
        val store = open(dir, "$username.sqlite")
        store.setUser(userId)
        assertEquals(201, server.registerDevice(token, store.actorId()), "device registered")
        return Device(store, token)
    }

    private fun Device.sync(server: FieldCrmServer) = store.syncWithBuiltinHttp(server.base, token)

    @Test
    fun `a refused customer is fixed, retried and reaches the other rep, and another is discarded`(@TempDir dir: Path) {
        FieldCrmServer(dir, listOf("ana", "ben"), "kotlin secret pass").use { server ->
            val ana = device(server, dir, "ana")
            val ben = device(server, dir, "ben")
            try {
                val kiosk = ana.store.createCustomer(newCustomer("Hafenkiosk"))
                val id = kiosk.meta.id

                // Without a territory: refused, with its reason.
                assertEquals(1uL, ana.sync(server).rejected)
                val rejected = ana.store.rejectedChanges()
                assertEquals(listOf(id), rejected.map { it.docId })
                assertEquals(RejectCode.FORBIDDEN, rejected[0].code)
                assertTrue(rejected[0].reason.isNotBlank())

                // The fix alone is refused too: it builds on the refused creation.
                ana.store.updateCustomer(ana.store.getCustomer(id)!!.apply { territory = "harbour" })
                val refusedAgain = ana.sync(server)
                assertEquals(0uL, refusedAgain.pushed, "$refusedAgain")
                assertEquals(1uL, refusedAgain.rejected, "$refusedAgain")
                assertEquals(2uL, ana.store.syncStatus().rejectedChanges)

                // Retried after the fix: accepted, and ben receives it with its territory.
                ana.store.retryRejected(id)
                assertTrue(ana.store.rejectedChanges().isEmpty())
                assertEquals(1uL, ana.store.syncStatus().pendingChanges)
                val accepted = ana.sync(server)
                assertEquals(1uL, accepted.pushed, "$accepted")
                assertEquals(0uL, accepted.rejected, "$accepted")
                ben.sync(server)
                assertEquals("harbour", ben.store.getCustomer(id)?.territory)

                // Nothing left to resolve: NotFound, and nothing changes.
                assertThrows<FieldCrmException.NotFound> { ana.store.retryRejected(id) }
                assertThrows<FieldCrmException.NotFound> { ana.store.discardRejected(id) }
                assertEquals("harbour", ana.store.getCustomer(id)?.territory)

                // Another refused creation, discarded: it leaves the device, the server never had it.
                val orphan = ana.store.createCustomer(newCustomer("Ohne Gebiet"))
                assertEquals(1uL, ana.sync(server).rejected)
                ana.store.discardRejected(orphan.meta.id)
                assertNull(ana.store.getCustomer(orphan.meta.id))
                val status = ana.store.syncStatus()
                assertEquals(0uL, status.pendingChanges)
                assertEquals(0uL, status.rejectedChanges)
                assertEquals(0uL, ana.sync(server).rejected)
                ben.sync(server)
                assertNull(ben.store.getCustomer(orphan.meta.id))
            } finally {
                ana.store.close()
                ben.store.close()
            }
        }
    }
}
