package app.fieldcrm.android.logic

import app.fieldcrm.core.CategorySummary
import app.fieldcrm.core.Money
import app.fieldcrm.core.ProductSummary
import app.fieldcrm.core.formatAmount
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.debounce
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn

/** What the catalog shows: the products of a search, or of one category. */
sealed interface CatalogSource {
    /** The typed words (trimmed); blank lists the categories instead. */
    data class Search(val text: String) : CatalogSource

    data class Category(val name: String) : CatalogSource
}

data class CatalogUiState(
    /** The search box's text. */
    val query: String = "",
    /** Browsing this category (tapped in the list or on a product); null while searching. */
    val category: String? = null,
    val products: List<ProductSummary> = emptyList(),
    /**
     * While [idle]: the catalog's categories by name, each with its product counts; tapping one
     * browses it. Empty otherwise. Products without a category are in none: search finds them.
     */
    val categories: List<CategorySummary> = emptyList(),
    /** What is shown is not yet that of [query] or [category] (typing, debounce). */
    val searching: Boolean = false,
    val message: String? = null,
) {
    /** Nothing typed and no category: the screen lists the categories and asks for a search. */
    val idle: Boolean get() = category == null && query.isBlank()
}

/** A category's counts in words: `12 products`, `12 products, 3 inactive`. */
fun CategorySummary.countText(): String {
    val all = products.toInt()
    val inactive = all - activeProducts.toInt()
    val counted = if (all == 1) "1 product" else "$all products"
    return if (inactive > 0) "$counted, $inactive inactive" else counted
}

/** The product's price in [currency], or null when it has none (it cannot go on such an order). */
fun ProductSummary.priceIn(currency: String): Money? = prices.firstOrNull { it.currency == currency }

/** Every price of the product in words: `3.49 EUR · 4.20 CHF`. */
fun ProductSummary.pricesText(): String =
    prices.joinToString(" · ") { formatAmount(it.minor, it.currency) }.ifEmpty { "no price" }

/**
 * The product catalog on the phone: with nothing typed, the list of categories; search as you
 * type (the library's full-text search over SKU and name, debounced) or browse one category. All
 * live: a catalog sync or a price change shows without a refresh. Typing leaves the category;
 * picking a category keeps the typed text.
 */
class CatalogViewModel(
    private val repository: FieldRepository,
    scope: CoroutineScope,
    debounceMs: Long = 250,
    private val limit: Int = 50,
    private val categoryLimit: Int = 200,
) {
    private class Results(
        val source: CatalogSource,
        val rows: List<ProductSummary> = emptyList(),
        val categories: List<CategorySummary> = emptyList(),
        val error: String? = null,
    )

    private val query = MutableStateFlow("")
    private val category = MutableStateFlow<String?>(null)

    private val typed: Flow<CatalogSource> = query.debounce(debounceMs).map { CatalogSource.Search(it.trim()) }

    private val results = combine(typed, category) { search, browsed ->
        browsed?.let { CatalogSource.Category(it) } ?: search
    }
        .distinctUntilChanged()
        .flatMapLatest { source ->
            val found: Flow<Results> = when (source) {
                is CatalogSource.Search ->
                    if (source.text.isEmpty()) {
                        repository.productCategories(categoryLimit).map { Results(source, categories = it) }
                    } else {
                        repository.searchProducts(source.text, limit).map { Results(source, rows = it) }
                    }
                is CatalogSource.Category -> repository.productsInCategory(source.name, limit).map { Results(source, rows = it) }
            }
            found.catch { emit(Results(source, error = it.userMessage())) }
        }

    val state: StateFlow<CatalogUiState> =
        combine(query, category, results) { text, browsed, found ->
            val wanted = browsed?.let { CatalogSource.Category(it) } ?: CatalogSource.Search(text.trim())
            CatalogUiState(
                text,
                browsed,
                found.rows,
                // Only while idle: the list under a search would be a stale one.
                categories = if (browsed == null && text.isBlank()) found.categories else emptyList(),
                searching = found.source != wanted,
                message = found.error,
            )
        }.stateIn(scope, SharingStarted.Eagerly, CatalogUiState(searching = true))

    /** The search box changed: search for it (and leave the category being browsed). */
    fun onQueryChange(text: String) {
        category.value = null
        query.value = text
    }

    /** Shows every product of [name] (a tapped category); null goes back to the search (or the list). */
    fun browse(name: String?) {
        category.value = name?.takeIf { it.isNotBlank() }
    }
}
