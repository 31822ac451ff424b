package app.fieldcrm.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import app.fieldcrm.android.ui.FieldCrmRoot
import app.fieldcrm.android.ui.FieldCrmTheme

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        val container = (application as FieldCrmApp).container
        setContent {
            FieldCrmTheme {
                FieldCrmRoot(container)
            }
        }
    }
}
