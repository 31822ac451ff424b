package app.fieldcrm.android.logic

import java.io.File
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * The AES keys that wrap store keys, held by the platform: in the app the Android Keystore
 * (`AndroidKeystoreWrappingKeys`: the key never leaves it), in the JVM tests a software stand-in.
 * Only this part differs between the two; the wrapping itself is [StoreKeys].
 */
interface WrappingKeys {
    /** The AES-256-GCM key named [alias], or null when there is none. */
    fun get(alias: String): SecretKey?

    /** The AES-256-GCM key named [alias], created when missing. */
    fun getOrCreate(alias: String): SecretKey

    /** Deletes the key named [alias]; nothing wrapped with it can be unwrapped again. */
    fun delete(alias: String)
}

/**
 * The store's key is gone: its wrapped copy is missing from the Keystore's point of view (the
 * app's files were restored onto another phone, or the Keystore was reset) or no longer
 * unwraps. What the store holds can never be read again.
 */
class StoreKeyLostException(message: String, cause: Throwable? = null) : Exception(message, cause)

/**
 * The raw key of each store file, the standard Android way: 32 random bytes made once, wrapped
 * (AES-GCM) with a key of their own held in the Android Keystore, and kept wrapped in
 * app-private storage beside the store (`<store file>.key`). The first start creates the key,
 * later starts unwrap the same key, and [delete] destroys it (the Keystore key first: without
 * it no copy of the wrapped key that flash may still hold can be unwrapped).
 */
class StoreKeys(
    /** App-private storage: `context.filesDir` in the app. */
    private val folder: File,
    private val keystore: WrappingKeys,
    private val random: SecureRandom = SecureRandom(),
) {
    companion object {
        const val KEY_BYTES = 32
        private const val FORMAT: Byte = 1
        private const val IV_BYTES = 12
        private const val TAG_BITS = 128
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
    }

    fun alias(storeFileName: String): String = "fieldcrm.store.$storeFileName"

    fun wrappedKeyFile(storeFileName: String): File = File(folder, "$storeFileName.key")

    /**
     * The key of [storeFileName]: unwrapped when one was made before, else made now. The caller
     * zeroes the returned bytes once the store is open.
     *
     * @throws StoreKeyLostException when a wrapped key exists but cannot be unwrapped.
     */
    @Synchronized
    fun keyFor(storeFileName: String): ByteArray {
        val file = wrappedKeyFile(storeFileName)
        if (file.exists()) return unwrap(storeFileName, file.readBytes())
        val key = ByteArray(KEY_BYTES).also(random::nextBytes)
        // A Keystore key left by an earlier install would do, but a fresh one is cleaner.
        keystore.delete(alias(storeFileName))
        val wrapping = keystore.getOrCreate(alias(storeFileName))
        writeAtomically(file, wrap(wrapping, storeFileName, key))
        return key
    }

    /** Destroys the key of [storeFileName]: the Keystore key, then the wrapped copy. */
    @Synchronized
    fun delete(storeFileName: String) {
        keystore.delete(alias(storeFileName))
        val file = wrappedKeyFile(storeFileName)
        if (file.exists() && !file.delete()) throw IOException("could not delete ${file.name}")
    }

    private fun wrap(wrapping: SecretKey, storeFileName: String, key: ByteArray): ByteArray {
        // The Keystore picks the IV itself (randomised encryption is required for its keys).
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, wrapping)
        cipher.updateAAD(storeFileName.toByteArray())
        val iv = cipher.iv
        check(iv.size == IV_BYTES) { "unexpected GCM IV length ${iv.size}" }
        return byteArrayOf(FORMAT) + iv + cipher.doFinal(key)
    }

    private fun unwrap(storeFileName: String, blob: ByteArray): ByteArray {
        val wrapping = keystore.get(alias(storeFileName))
            ?: throw StoreKeyLostException("the Keystore holds no key for $storeFileName")
        if (blob.size != 1 + IV_BYTES + KEY_BYTES + TAG_BITS / 8 || blob[0] != FORMAT) {
            throw StoreKeyLostException("the wrapped key of $storeFileName is damaged")
        }
        return try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, wrapping, GCMParameterSpec(TAG_BITS, blob, 1, IV_BYTES))
            cipher.updateAAD(storeFileName.toByteArray())
            cipher.doFinal(blob, 1 + IV_BYTES, blob.size - 1 - IV_BYTES)
        } catch (e: GeneralSecurityException) {
            throw StoreKeyLostException("the wrapped key of $storeFileName does not unwrap", e)
        }
    }

    /** Writes [bytes] to a sibling, flushes it and renames it over [file]: never half a key. */
    private fun writeAtomically(file: File, bytes: ByteArray) {
        val temp = File(file.parentFile, file.name + ".new")
        temp.outputStream().use { out ->
            out.write(bytes)
            out.fd.sync()
        }
        if (!temp.renameTo(file)) {
            temp.delete()
            throw IOException("could not save ${file.name}")
        }
    }
}
