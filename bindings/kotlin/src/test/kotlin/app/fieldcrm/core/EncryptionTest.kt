package app.fieldcrm.core

import app.fieldcrm.core.Support.BERLIN_LAT
import app.fieldcrm.core.Support.BERLIN_LON
import app.fieldcrm.core.Support.located
import app.fieldcrm.core.Support.names
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import java.security.SecureRandom

/**
 * The store encrypted at rest, through the real bindings: what an app does with the key it
 * keeps in the Android Keystore or the iOS Keychain.
 */
class EncryptionTest {
    companion object {
        @JvmStatic
        @AfterAll
        fun stopServers() = FieldCrmServer.killAll()
    }

    private fun newKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

    /** Every file of the folder with the SHA-256 of its bytes. */
    private fun folder(dir: Path): Map<String, String> =
        Files.list(dir).use { files ->
            files.toList().associate { file ->
                val hash = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))
                file.fileName.toString() to hash.joinToString("") { "%02x".format(it) }
            }
        }

    private fun containsBytes(file: Path, text: String): Boolean {
        val haystack = String(Files.readAllBytes(file), Charsets.ISO_8859_1)
        return haystack.contains(String(text.toByteArray(), Charsets.ISO_8859_1))
    }

    @Test
    fun `an encrypted store opens with its key only, and a wrong or missing key changes nothing`(@TempDir dir: Path) {
        val path = dir.resolve("crm.sqlite")
        val key = newKey()
        val created = FieldStore.openEncrypted(path.toString(), key).use { store ->
            store.createCustomer(located("Bäckerei Nordlicht", BERLIN_LAT, BERLIN_LON))
        }
        assertEquals(setOf("crm.sqlite"), folder(dir).keys, "closed: no log left beside it")
        assertFalse(containsBytes(path, "Nordlicht"), "no record text in the file")
        val before = folder(dir)

        FieldStore.openEncrypted(path.toString(), key).use { store ->
            assertEquals("Bäckerei Nordlicht", store.getCustomer(created.meta.id)?.name)
            assertEquals(listOf("Bäckerei Nordlicht"), names(store.searchCustomers("nordl", 10u)))
        }

        val wrong = key.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
        val untouched = folder(dir)
        assertThrows<FieldCrmException.WrongKey> { FieldStore.openEncrypted(path.toString(), wrong) }
        assertEquals(untouched, folder(dir), "a wrong key leaves the folder byte-identical")
        assertThrows<FieldCrmException.KeyRequired> { FieldStore.open(path.toString()) }
        assertEquals(untouched, folder(dir), "no key leaves the folder byte-identical")
        val short = assertThrows<FieldCrmException.InvalidValue> {
            FieldStore.openEncrypted(path.toString(), ByteArray(16))
        }
        assertEquals("key", short.field)
        assertEquals(untouched, folder(dir))
        assertEquals(before.keys, untouched.keys)
    }

    @Test
    fun `a plaintext store is encrypted at the first keyed start and its unsynced changes still push`(@TempDir dir: Path) {
        FieldCrmServer(dir, listOf("ana"), "kotlin secret pass").use { server ->
            val (token, userId) = server.login("ana")
            val path = dir.resolve("ana.sqlite")
            // Yesterday's app version: a plaintext store with a change not yet sent.
            val (hall, actor) = open(dir, "ana.sqlite").use { store ->
                store.setUser(userId)
                assertEquals(201, server.registerDevice(token, store.actorId()))
                val hall = store.createCustomer(
                    located("Fischhalle Krause", BERLIN_LAT, BERLIN_LON).apply { territory = "harbour" },
                )
                hall to store.actorId()
            }
            assertEquals("SQLite format 3", String(Files.readAllBytes(path), 0, 15, Charsets.US_ASCII))

            // Today's version opens it with the new key.
            val key = newKey()
            FieldStore.openEncrypted(path.toString(), key).use { store ->
                assertEquals(actor, store.actorId())
                assertEquals(1uL, store.syncStatus().pendingChanges)
                assertEquals(1uL, store.syncWithBuiltinHttp(server.base, token).pushed)
                assertEquals(0uL, store.syncStatus().pendingChanges)
                assertNotNull(store.getCustomer(hall.meta.id))
            }
            assertFalse(containsBytes(path, "Fischhalle"), "encrypted in place")
            assertThrows<FieldCrmException.KeyRequired> { FieldStore.open(path.toString()) }
        }
    }
}
