package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.FieldStore
import java.io.File
import java.io.IOException

/**
 * The store files in app-private storage, each encrypted at rest with its own key from
 * [StoreKeys]. Blocking (SQLite, the Keystore, the disk): call it off the main thread.
 */
class EncryptedStores(
    /** `context.filesDir` in the app; the same folder [keys] keeps the wrapped keys in. */
    private val folder: File,
    private val keys: StoreKeys,
) {
    /** An open store, and whether it had to start afresh because its key was gone. */
    class Opened(val store: FieldStore, val startedAfresh: Boolean)

    fun path(fileName: String): File = File(folder, fileName)

    /**
     * Opens the store [fileName] with its key: the first start makes the key and the store (or
     * encrypts in place the plaintext store an earlier app version left, keeping its unsynced
     * changes), later starts reuse both.
     *
     * A store whose key is gone ([StoreKeyLostException], or `WrongKey`: the file was encrypted
     * with a key this phone no longer has) can never be read again, by anyone. It is deleted
     * and started afresh, and [Opened.startedAfresh] says so: what it held that was not synced
     * is lost, and the next sync brings back everything the server has.
     */
    fun open(fileName: String): Opened {
        try {
            return Opened(openWithKey(fileName), startedAfresh = false)
        } catch (e: StoreKeyLostException) {
            // Below: unreadable for good.
        } catch (e: FieldCrmException.WrongKey) {
            // Below: unreadable for good.
        }
        deleteFiles(fileName)
        keys.delete(fileName)
        return Opened(openWithKey(fileName), startedAfresh = true)
    }

    /**
     * After the device was revoked (the library has wiped the store) or on "remove my data":
     * destroys the store's key, then deletes the store. Close the store first.
     */
    fun forget(fileName: String) {
        keys.delete(fileName)
        deleteFiles(fileName)
    }

    private fun openWithKey(fileName: String): FieldStore {
        val key = keys.keyFor(fileName)
        try {
            return FieldStore.openEncrypted(path(fileName).path, key)
        } finally {
            key.fill(0)
        }
    }

    /** The store and SQLite's files beside it (its log and index, if a crash left them). */
    private fun deleteFiles(fileName: String) {
        for (suffix in listOf("", "-wal", "-shm", "-journal", ".encrypting", ".encrypting-journal")) {
            val file = File(folder, fileName + suffix)
            if (file.exists() && !file.delete()) throw IOException("could not delete ${file.name}")
        }
    }
}
