package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Close
import androidx.compose.material.icons.filled.Search
import androidx.compose.material3.AssistChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.CatalogUiState
import app.fieldcrm.android.logic.CatalogViewModel
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.countText
import app.fieldcrm.android.logic.percentText
import app.fieldcrm.android.logic.pricesText
import app.fieldcrm.core.ProductSummary

/** The product catalog: its categories, search as you type, or browse a category; live. */
@Composable
fun CatalogScreen(repository: FieldRepository) {
    val vm = rememberLogic { scope -> CatalogViewModel(repository, scope) }
    val state by vm.state.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxSize().padding(horizontal = 16.dp)) {
        Text("Catalog", style = MaterialTheme.typography.headlineSmall, modifier = Modifier.padding(vertical = 8.dp))
        CatalogSearch(vm, state, onProduct = null)
    }
}

/**
 * The search box, then with nothing typed the catalog's categories (a tap browses one), else the
 * category being browsed or the products found. With [onProduct] a tap on a product picks it
 * (order entry); without, it shows the catalog.
 */
@Composable
fun CatalogSearch(vm: CatalogViewModel, state: CatalogUiState, onProduct: ((ProductSummary) -> Unit)?) {
    OutlinedTextField(
        value = state.query,
        onValueChange = vm::onQueryChange,
        placeholder = { Text("Search SKU or name") },
        leadingIcon = { Icon(Icons.Filled.Search, contentDescription = null) },
        singleLine = true,
        modifier = Modifier.fillMaxWidth().padding(vertical = 8.dp),
    )
    state.category?.let { category ->
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text("Category: $category", style = MaterialTheme.typography.titleMedium, modifier = Modifier.weight(1f))
            IconButton(onClick = { vm.browse(null) }) { Icon(Icons.Filled.Close, contentDescription = "Back to the search") }
        }
    }
    ErrorText(state.message)
    when {
        state.idle -> Text("Type a SKU or a product name. Tap a category to browse it.")
        !state.searching && state.products.isEmpty() ->
            Text(state.category?.let { "No products in $it." } ?: "No product matches \"${state.query}\".")
    }
    LazyColumn {
        items(state.categories, key = { "category:" + it.name }) { category ->
            ListItem(
                headlineContent = { Text(category.name) },
                supportingContent = { Text(category.countText()) },
                modifier = Modifier.clickable { vm.browse(category.name) },
            )
            HorizontalDivider()
        }
        items(state.products, key = { it.id }) { product ->
            ProductRow(product, onCategory = vm::browse, onClick = onProduct?.let { pick -> { pick(product) } })
            HorizontalDivider()
        }
    }
}

@Composable
private fun ProductRow(product: ProductSummary, onCategory: (String) -> Unit, onClick: (() -> Unit)?) {
    val details = listOfNotNull(
        product.sku,
        product.unit,
        product.pricesText(),
        "tax " + percentText(product.taxRateBp.toInt()),
        "inactive".takeUnless { product.active },
    ).joinToString(" · ")
    ListItem(
        headlineContent = { Text(product.name) },
        supportingContent = { Text(details) },
        trailingContent = {
            product.category?.let { category -> AssistChip(onClick = { onCategory(category) }, label = { Text(category) }) }
        },
        modifier = if (onClick != null) Modifier.clickable(onClick = onClick) else Modifier,
    )
}
