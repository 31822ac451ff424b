import FieldCRMCore
import SwiftUI

/// The product catalog tab: search as you type (the library's full-text search over SKU and
/// name) or browse a product's category; both live queries, so a catalog sync shows at once.
struct CatalogView: View {
    var body: some View {
        NavigationStack {
            CatalogList(currency: nil, onPick: nil)
                .navigationTitle("Catalog")
        }
    }
}

/// The catalog search and browsing; with `onPick` a tap picks a product (order entry).
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
            let products = (category == nil && text.trimmingCharacters(in: .whitespaces).isEmpty)
                ? [] : (live.result?.productRows ?? [])
            if products.isEmpty {
                Text(live.failure ?? (category == nil && text.isEmpty
                    ? "Type a SKU or a product name. Tap a category to browse it."
                    : "No products found."))
                    .foregroundStyle(.secondary)
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
        guard !typed.isEmpty else { return }
        // Debounced: a new keystroke cancels this task before it subscribes.
        try? await _Concurrency.Task.sleep(nanoseconds: 250_000_000)
        guard !_Concurrency.Task.isCancelled else { return }
        await live.watch(.searchProducts(text: typed, limit: 50), in: model)
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
