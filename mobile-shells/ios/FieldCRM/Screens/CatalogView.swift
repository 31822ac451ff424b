import FieldCRMCore
import SwiftUI

/// The product catalog tab: with nothing typed, the catalog's categories (tap one to browse it);
/// search as you type (the library's full-text search over SKU and name) or browse a category.
/// All live queries, so a catalog sync shows at once.
struct CatalogView: View {
    var body: some View {
        NavigationStack {
            CatalogList(currency: nil, onPick: nil)
                .navigationTitle("Catalog")
        }
    }
}

/// The catalog's categories, search and browsing; with `onPick` a tap picks a product (order
/// entry).
struct CatalogList: View {
    /// The order's currency when picking for an order: products without a price in it are marked.
    let currency: String?
    let onPick: ((ProductSummary) -> Void)?

    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    @State private var text = ""
    @State private var category: String?

    var body: some View {
        List {
            if let category {
                Section {
                    HStack {
                        Text("Category: \(category)").font(.headline)
                        Spacer()
                        Button("Search") { self.category = nil }
                    }
                }
            }
            let idle = category == nil && text.trimmingCharacters(in: .whitespaces).isEmpty
            let products = idle ? [] : (live.result?.productRows ?? [])
            // Only while idle: under a search the list would be a stale one.
            let categories = idle ? (live.result?.categoryRows ?? []) : []
            if products.isEmpty {
                Text(live.failure ?? (idle
                    ? "Type a SKU or a product name, or tap a category to browse it."
                    : "No products found."))
                    .foregroundStyle(.secondary)
            }
            if !categories.isEmpty {
                Section("Categories") {
                    ForEach(categories, id: \.name) { summary in
                        Button { category = summary.name } label: { CategoryRow(summary: summary) }
                    }
                }
            }
            ForEach(products, id: \.id) { product in
                ProductRow(product: product, currency: currency, onCategory: { category = $0 })
                    .contentShape(Rectangle())
                    .onTapGesture { onPick?(product) }
            }
        }
        .searchable(text: $text, prompt: "SKU or name")
        .onChange(of: text) { _ in category = nil }
        .task(id: "\(category ?? "")|\(text)") { await watch() }
    }

    @MainActor
    private func watch() async {
        if let category {
            await live.watch(.productsInCategory(category: category, limit: 100, offset: 0), in: model)
            return
        }
        let typed = text.trimmingCharacters(in: .whitespaces)
        guard !typed.isEmpty else {
            // Nothing typed: the catalog's categories (products without one: search finds them).
            await live.watch(.productCategories(limit: 200, offset: 0), in: model)
            return
        }
        // Debounced: a new keystroke cancels this task before it subscribes.
        try? await _Concurrency.Task.sleep(nanoseconds: 250_000_000)
        guard !_Concurrency.Task.isCancelled else { return }
        await live.watch(.searchProducts(text: typed, limit: 50), in: model)
    }
}

/// A category with its counts: `12 products, 3 inactive`.
struct CategoryRow: View {
    let summary: CategorySummary

    var body: some View {
        HStack {
            Text(summary.name)
            Spacer()
            Text(countText).font(.footnote).foregroundStyle(.secondary)
        }
        .contentShape(Rectangle())
    }

    private var countText: String {
        let all = Int(summary.products)
        let inactive = all - Int(summary.activeProducts)
        let counted = all == 1 ? "1 product" : "\(all) products"
        return inactive > 0 ? "\(counted), \(inactive) inactive" : counted
    }
}

struct ProductRow: View {
    let product: ProductSummary
    let currency: String?
    let onCategory: (String) -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                Text(product.name)
                if !product.active { Text("inactive").font(.caption).foregroundStyle(.secondary) }
                Spacer()
                if let category = product.category {
                    Button(category) { onCategory(category) }
                        .buttonStyle(.bordered)
                        .font(.caption)
                }
            }
            Text([product.sku, product.unit, product.pricesText, "tax \(percentText(product.taxRateBp))"]
                .compactMap { $0 }.joined(separator: " · "))
                .font(.footnote)
                .foregroundStyle(.secondary)
            if let currency, !product.prices.contains(where: { $0.currency == currency }) {
                Text("No price in \(currency)").font(.footnote).foregroundStyle(.red)
            }
        }
    }
}
