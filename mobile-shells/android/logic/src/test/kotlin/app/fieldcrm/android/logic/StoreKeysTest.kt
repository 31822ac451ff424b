package app.fieldcrm.android.logic

import java.io.File
import java.nio.file.Path
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/**
 * The Android Keystore's stand-in on the JVM: software AES-256 keys by alias, in memory. A new
 * instance is a Keystore that lost its keys (the app's files restored onto another phone).
 */
class FakeKeystore : WrappingKeys {
    val keys = mutableMapOf<String, SecretKey>()

    override fun get(alias: String): SecretKey? = keys[alias]

    override fun getOrCreate(alias: String): SecretKey =
        keys.getOrPut(alias) { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }

    override fun delete(alias: String) {
        keys.remove(alias)
    }
}

/** The store key's lifetime: made at the first start, reused at later ones, destroyed on wipe. */
class StoreKeysTest {
    @TempDir
    lateinit var dir: Path

    private val store = "fieldcrm-user-ana.sqlite"

    private fun contains(haystack: ByteArray, needle: ByteArray): Boolean =
        (0..haystack.size - needle.size).any { start -> needle.indices.all { haystack[start + it] == needle[it] } }

    @Test
    fun `the first start makes a key, later starts unwrap the same key`() {
        val keystore = FakeKeystore()
        val first = StoreKeys(dir.toFile(), keystore).keyFor(store)
        assertEquals(32, first.size)
        val wrapped = File(dir.toFile(), "$store.key")
        assertTrue(wrapped.exists(), "kept wrapped in app-private storage")
        assertFalse(contains(wrapped.readBytes(), first), "never in the clear")
        assertNotNull(keystore.get("fieldcrm.store.$store"), "its wrapping key is in the Keystore")

        // A later start of the app: a new StoreKeys, the same Keystore.
        val again = StoreKeys(dir.toFile(), keystore).keyFor(store)
        assertArrayEquals(first, again)
        // Another store (another user on this phone) has a key of its own.
        val other = StoreKeys(dir.toFile(), keystore).keyFor("fieldcrm-user-ben.sqlite")
        assertFalse(first.contentEquals(other))
    }

    @Test
    fun `delete destroys the Keystore key and the wrapped copy, and the next start makes a new key`() {
        val keystore = FakeKeystore()
        val keys = StoreKeys(dir.toFile(), keystore)
        val old = keys.keyFor(store)
        val wrapped = File(dir.toFile(), "$store.key").readBytes()

        keys.delete(store)

        assertNull(keystore.get("fieldcrm.store.$store"))
        assertFalse(File(dir.toFile(), "$store.key").exists())
        // A copy of the wrapped key that flash kept does not unwrap any more.
        File(dir.toFile(), "$store.key").writeBytes(wrapped)
        assertThrows<StoreKeyLostException> { keys.keyFor(store) }
        File(dir.toFile(), "$store.key").delete()
        assertFalse(old.contentEquals(keys.keyFor(store)), "a new key")
    }

    @Test
    fun `a wrapped key without its Keystore key, damaged, or another store's is lost`() {
        val keys = StoreKeys(dir.toFile(), FakeKeystore())
        keys.keyFor(store)
        // The files restored onto a phone whose Keystore never held the key.
        assertThrows<StoreKeyLostException> { StoreKeys(dir.toFile(), FakeKeystore()).keyFor(store) }

        val file = File(dir.toFile(), "$store.key")
        val bytes = file.readBytes()
        file.writeBytes(bytes.copyOf().also { it[20] = (it[20].toInt() xor 1).toByte() })
        assertThrows<StoreKeyLostException> { keys.keyFor(store) }
        file.writeBytes(bytes.copyOf(bytes.size - 1))
        assertThrows<StoreKeyLostException> { keys.keyFor(store) }

        // Bound to its store's name: ben's wrapped key under ana's name does not unwrap.
        file.writeBytes(bytes)
        val keystore = FakeKeystore()
        val both = StoreKeys(dir.toFile(), keystore)
        both.keyFor("a.sqlite")
        keystore.keys["fieldcrm.store.b.sqlite"] = keystore.keys.getValue("fieldcrm.store.a.sqlite")
        File(dir.toFile(), "a.sqlite.key").copyTo(File(dir.toFile(), "b.sqlite.key"))
        assertThrows<StoreKeyLostException> { both.keyFor("b.sqlite") }
    }
}
