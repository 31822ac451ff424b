package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.FieldStore
import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows

/**
 * The app's encrypted store through the real library: the Keystore is [FakeKeystore], the rest
 * (key wrapping, SQLCipher, the files) is what runs on the phone.
 */
@Timeout(180)
class EncryptedStoresTest : StoreTest() {
    private val name = storeFileName("user-ana")
    private val keystore = FakeKeystore()

    /** What the app builds at each start: the same folder and Keystore, new objects. */
    private fun stores(keystore: WrappingKeys = this.keystore) =
        EncryptedStores(dir.toFile(), StoreKeys(dir.toFile(), keystore))

    private fun fileStartsPlain(file: File): Boolean =
        String(file.readBytes().copyOf(15), Charsets.US_ASCII) == "SQLite format 3"

    @Test
    fun `the first start creates the key and the store, later starts reopen it`() = runBlocking<Unit> {
        val first = FieldRepository.openEncrypted(stores(), name, io, clock)
        assertFalse(first.startedAfresh)
        first.setUser("user-ana")
        val kiosk = first.createCustomer(CustomerDraft("Kiosk am Deich", city = "Hamburg"))
        first.close()
        val file = File(dir.toFile(), name)
        assertFalse(fileStartsPlain(file), "encrypted")
        assertFalse(String(file.readBytes(), Charsets.ISO_8859_1).contains("Deich"))
        assertTrue(File(dir.toFile(), "$name.key").exists())
        // Without its key the file does not open.
        assertThrows<FieldCrmException.KeyRequired> { FieldStore.open(file.path) }

        val again = FieldRepository.openEncrypted(stores(), name, io, clock)
        try {
            assertFalse(again.startedAfresh)
            assertEquals("Kiosk am Deich", again.customer(kiosk.meta.id)?.name)
            assertEquals(1L, again.syncStatusNow().pendingChanges.toLong())
        } finally {
            again.close()
        }
    }

    @Test
    fun `the plaintext store of an earlier app version is encrypted at the first start, nothing lost`() = runBlocking<Unit> {
        val old = repository(name, user = "user-ana")
        val kiosk = old.createCustomer(CustomerDraft("Kiosk am Deich"))
        old.close()
        assertTrue(fileStartsPlain(File(dir.toFile(), name)))

        val repo = FieldRepository.openEncrypted(stores(), name, io, clock)
        try {
            assertFalse(repo.startedAfresh)
            assertEquals("Kiosk am Deich", repo.customer(kiosk.meta.id)?.name)
            assertEquals(1L, repo.syncStatusNow().pendingChanges.toLong(), "the unsynced change is kept")
        } finally {
            repo.close()
        }
        assertFalse(fileStartsPlain(File(dir.toFile(), name)))
    }

    @Test
    fun `a store whose key is gone starts afresh`() = runBlocking<Unit> {
        val repo = FieldRepository.openEncrypted(stores(), name, io, clock)
        val kiosk = repo.createCustomer(CustomerDraft("Kiosk am Deich"))
        repo.close()

        // The app's files restored onto a phone whose Keystore never held the key.
        val restored = FieldRepository.openEncrypted(stores(FakeKeystore()), name, io, clock)
        try {
            assertTrue(restored.startedAfresh)
            assertNull(restored.customer(kiosk.meta.id))
            assertEquals(0L, restored.syncStatusNow().pendingChanges.toLong())
        } finally {
            restored.close()
        }

        // The wrapped key file lost, the Keystore kept: the store's own key is gone all the same.
        val keys = FakeKeystore()
        FieldRepository.openEncrypted(stores(keys), name, io, clock).close()
        File(dir.toFile(), "$name.key").delete()
        val again = FieldRepository.openEncrypted(stores(keys), name, io, clock)
        try {
            assertTrue(again.startedAfresh)
        } finally {
            again.close()
        }
    }

    @Test
    fun `a revoked phone is wiped, and its store and key are deleted`() = runBlocking<Unit> {
        val db = dir.resolve("server.sqlite")
        ServerProcess.seed(db)
        ServerProcess.start(db).use { server ->
            val auth = AuthApi(server.base, dispatcher = io)
            val login = auth.login("ana", PASSWORD)
            val stores = stores()
            val ana = FieldRepository.openEncrypted(stores, name, io, clock)
            ana.setUser(login.userId)
            assertTrue(auth.registerDevice(login.token, ana.actorId()))
            val sessions = InMemorySessionStore(Session(server.base, login.userId, "ana", login.token, login.expiresAt))
            // What the app's container does when told the phone was revoked.
            val runner = SyncRunner(
                ana,
                transport = { sessions.load()?.let { s -> OkHttpSyncTransport(s.serverUrl) { s.token } } },
                onDeviceRevoked = {
                    sessions.save(null)
                    ana.close()
                    stores.forget(name)
                },
            )
            ana.createCustomer(CustomerDraft("Kiosk am Deich", territory = "harbour"))
            assertTrue(runner.run() is SyncOutcome.Synced)
            ServerProcess.admin(db, "device", "revoke", "--device", ana.actorId())

            val revoked = runner.run() as SyncOutcome.Failed
            assertTrue(revoked.deviceRevoked)
            assertNull(sessions.load())
            assertTrue(ana.isClosed())
            assertNull(keystore.get(StoreKeys(dir.toFile(), keystore).alias(name)), "the Keystore key is gone")
            val left = Files.list(dir).use { files -> files.map { it.fileName.toString() }.toList() }
            assertFalse(left.any { it.startsWith(name) }, "no store, log or key file left: $left")

            // Signing in again starts a new, empty store with a new key.
            val fresh = FieldRepository.openEncrypted(stores(), name, io, clock)
            try {
                assertFalse(fresh.startedAfresh)
                assertNotNull(fresh.actorId())
                assertEquals(0L, fresh.syncStatusNow().pendingChanges.toLong())
            } finally {
                fresh.close()
            }
        }
    }
}
