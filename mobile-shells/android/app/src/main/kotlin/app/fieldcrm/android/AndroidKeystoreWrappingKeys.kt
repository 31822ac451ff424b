package app.fieldcrm.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import app.fieldcrm.android.logic.WrappingKeys
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * The store keys' wrapping keys in the Android Keystore: AES-256-GCM, generated inside it and
 * never leaving it (hardware-backed where the phone has a TEE). No user authentication is
 * required, so that background sync can open the store while the phone is locked. Everything
 * else about the store key (making, wrapping, saving, destroying) is `StoreKeys` in the logic
 * module, tested on the JVM.
 */
class AndroidKeystoreWrappingKeys : WrappingKeys {
    private val keyStore: KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    override fun get(alias: String): SecretKey? =
        (keyStore.getEntry(alias, null) as? KeyStore.SecretKeyEntry)?.secretKey

    override fun getOrCreate(alias: String): SecretKey = get(alias) ?: KeyGenerator
        .getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
        .apply {
            init(
                KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .build(),
            )
        }
        .generateKey()

    override fun delete(alias: String) {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
    }
}
