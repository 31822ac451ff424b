package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.FieldStore
import app.fieldcrm.core.OrderLine
import app.fieldcrm.core.OrderStatus
import app.fieldcrm.core.Product
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.newProduct
import java.net.InetAddress
import java.net.ServerSocket
import kotlinx.coroutines.Job
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/**
 * The catalog and order entry over the real store: search as you type and browse a category,
 * live; an order taken at a visit with lines from the catalog, totals from the library, typed
 * refusals as messages, submitted and frozen, cancelled; an unknown product shown as unknown;
 * and, through a real `fieldcrm-server` process, an order taken offline reaching the manager.
 */
@Timeout(120)
class CatalogOrdersTest : StoreTest() {
    private var server: ServerProcess? = null

    @AfterEach
    fun stopServer() {
        server?.close()
    }

    /** A catalog entry, written as an admin's device would (the app itself never writes one). */
    private suspend fun FieldStore.product(
        sku: String,
        name: String,
        category: String,
        prices: Map<String, Long>,
        taxRateBp: UInt = 700u,
    ): Product = withContext(io) {
        createProduct(newProduct(sku, name).copy(category = category, prices = prices, taxRateBp = taxRateBp))
    }

    @Test
    fun `the catalog searches as you type and browses a category, live`() = runBlocking<Unit> {
        val (store, repo) = storeAndRepository()
        store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L, "CHF" to 420L))
        store.product("AB-1002", "Dinkelbrot", "bread", mapOf("EUR" to 399L))
        store.product("CK-2001", "Cheesecake", "cake", mapOf("CHF" to 1290L))
        val vm = CatalogViewModel(repo, scope, debounceMs = 10)
        val idle = vm.state.await { !it.searching }
        assertTrue(idle.idle)
        assertTrue(idle.products.isEmpty(), "nothing typed finds nothing")

        vm.onQueryChange("roggen")
        val rye = vm.state.await { it.query == "roggen" && !it.searching }.products.single()
        assertEquals("AB-1001", rye.sku)
        assertEquals("4.20 CHF · 3.49 EUR", rye.pricesText())
        assertEquals(349L, rye.priceIn("EUR")?.minor)
        assertNull(rye.priceIn("USD"))
        // The SKU without its separator, as a rep types it.
        vm.onQueryChange("ab1002")
        assertEquals(listOf("Dinkelbrot"), vm.state.await { it.query == "ab1002" && !it.searching }.products.map { it.name })

        // Live: a product arriving (a catalog sync) joins the open search.
        vm.onQueryChange("dinkel")
        vm.state.await { it.query == "dinkel" && !it.searching && it.products.size == 1 }
        store.product("AB-1003", "Dinkelbrötchen", "bread", mapOf("EUR" to 89L))
        val both = vm.state.await { it.products.size == 2 }
        assertEquals(setOf("AB-1002", "AB-1003"), both.products.map { it.sku }.toSet())

        // Browsing a category (a tapped product's), live too.
        vm.browse("bread")
        val bread = vm.state.await { it.category == "bread" && !it.searching }
        assertEquals(listOf("Dinkelbrot", "Dinkelbrötchen", "Roggenbrot"), bread.products.map { it.name })
        store.product("AB-1004", "Baguette", "bread", mapOf("EUR" to 199L))
        assertEquals("Baguette", vm.state.await { it.products.size == 4 }.products.first().name)
        vm.browse("cake")
        assertEquals(listOf("CK-2001"), vm.state.await { it.category == "cake" && !it.searching }.products.map { it.sku })

        // Typing leaves the category.
        vm.onQueryChange("cheese")
        val typed = vm.state.await { it.category == null && it.query == "cheese" && !it.searching }
        assertEquals(listOf("CK-2001"), typed.products.map { it.sku })
        vm.onQueryChange("nothing like it")
        assertTrue(vm.state.await { it.query == "nothing like it" && !it.searching }.products.isEmpty())
    }

    @Test
    fun `with nothing typed the catalog lists its categories, live, and a tapped one is browsed`() = runBlocking<Unit> {
        val (store, repo) = storeAndRepository()
        store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L))
        val old = store.product("AB-1002", "Dinkelbrot", "bread", mapOf("EUR" to 399L))
        withContext(io) { store.updateProduct(old.copy(active = false)) }
        store.product("CK-2001", "Cheesecake", "cake", mapOf("CHF" to 1290L))
        store.product("MI-3001", "Milch", "Dairy", mapOf("EUR" to 119L))
        // Only a deleted product carries it: not a category of the catalog.
        val gone = store.product("ZZ-9001", "Gone", "zebra", mapOf("EUR" to 1L))
        withContext(io) {
            store.deleteProduct(gone.meta.id)
            // Without a category: in none (search finds it).
            store.createProduct(newProduct("LO-1", "Loose").copy(prices = mapOf("EUR" to 1L)))
        }
        val vm = CatalogViewModel(repo, scope, debounceMs = 10)
        val idle = vm.state.await { !it.searching && it.categories.isNotEmpty() }
        assertTrue(idle.idle)
        assertTrue(idle.products.isEmpty())
        // By name, case aside; counts of active and of all products.
        assertEquals(
            listOf(Triple("bread", 1u, 2u), Triple("cake", 1u, 1u), Triple("Dairy", 1u, 1u)),
            idle.categories.map { Triple(it.name, it.activeProducts, it.products) },
        )
        assertEquals(listOf("2 products, 1 inactive", "1 product", "1 product"), idle.categories.map { it.countText() })

        // Live: a catalog sync adding a category shows in the open list.
        store.product("AP-4001", "Apfelkuchen", "apple pie", mapOf("EUR" to 250L))
        assertEquals("apple pie", vm.state.await { it.categories.size == 4 }.categories.first().name)

        // Tapping a category browses it; the list is not shown meanwhile.
        vm.browse("bread")
        val bread = vm.state.await { it.category == "bread" && !it.searching }
        assertFalse(bread.idle)
        assertTrue(bread.categories.isEmpty())
        assertEquals(listOf("Roggenbrot", "Dinkelbrot"), bread.products.map { it.name }, "active first")
        // Back: the list again.
        vm.browse(null)
        assertEquals(4, vm.state.await { it.idle && !it.searching }.categories.size)
        // Typing hides it at once (before the debounced search answers); clearing brings it back.
        vm.onQueryChange("milch")
        assertTrue(vm.state.await { it.query == "milch" }.categories.isEmpty())
        assertEquals(listOf("MI-3001"), vm.state.await { it.query == "milch" && !it.searching }.products.map { it.sku })
        vm.onQueryChange("")
        assertEquals(4, vm.state.await { it.idle && !it.searching }.categories.size)
    }

    @Test
    fun `a line is added with its discount in one write, and a refused discount writes nothing`() = runBlocking<Unit> {
        val (store, repo) = storeAndRepository()
        val rye = store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L))
        val shop = repo.createCustomer(CustomerDraft("Bäckerei Nord"))
        val id = repo.createOrder(shop.meta.id, null, "EUR").meta.id
        val vm = OrderViewModel(repo, scope, id)
        vm.state.await { it.order != null }
        val pending = repo.syncStatusNow().pendingChanges

        vm.addLine(rye.meta.id, "2", "12,5").join()
        val added = vm.state.await { it.lines.size == 1 && !it.busy }
        assertNull(added.message)
        assertEquals(1250u, added.lines.single().line.discountBp)
        assertEquals(pending + 1uL, repo.syncStatusNow().pendingChanges, "the line and its discount: one change")
        // 2 × 3.49 = 6.98; 12.5 % = 0.8725 -> 0.87; net 6.11; 7 % = 0.4277 -> 0.43.
        assertEquals(TotalsText("6.98 EUR", "0.87 EUR", "6.11 EUR", "0.43 EUR", "6.54 EUR"), added.totals)

        // Over 100 %: refused, and nothing at all is written (no line added and taken out again).
        vm.addLine(rye.meta.id, "1", "100.5").join()
        val refused = vm.state.await { it.message != null && !it.busy }
        assertEquals("A discount is at most 100 %.", refused.message)
        assertEquals(1, refused.lines.size)
        assertEquals(pending + 1uL, repo.syncStatusNow().pendingChanges)
        val typed = assertFailsWith<FieldCrmException.InvalidValue> { repo.addOrderLine(id, rye.meta.id, 1, 10_001) }
        assertEquals("lines.discount_bp" to ValidationRule.OUT_OF_RANGE, typed.field to typed.rule)
        assertEquals(1, repo.order(id)!!.lines.size)
        // Without a discount, as before.
        assertEquals(0u, repo.addOrderLine(id, rye.meta.id, 1).lines.last().discountBp)
    }

    @Test
    fun `order entry at a visit, lines from the catalog, the library totals, refusals as messages, submit freezes`() =
        runBlocking<Unit> {
            val (store, repo) = storeAndRepository()
            val rye = store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L))
            val cake = store.product("CK-2001", "Cheesecake", "cake", mapOf("CHF" to 1290L))
            val shop = repo.createCustomer(CustomerDraft("Bäckerei Nord"))
            val visit = repo.planVisit(shop.meta.id, plannedStart = clock.now)

            val visitOrders = OrdersViewModel(repo, scope, OrdersOf.Visit(visit.meta.id))
            assertTrue(visitOrders.state.await { !it.loading }.orders.isEmpty())
            assertNull(visitOrders.startOrder("euro"))
            assertEquals("A currency is a three-letter code, like EUR.", visitOrders.state.await { it.message != null }.message)
            val id = visitOrders.startOrder(" eur ")!!
            visitOrders.state.await { it.message == null && !it.busy }
            val created = repo.order(id)!!
            assertEquals(Triple(shop.meta.id, visit.meta.id, "EUR"), Triple(created.customerId, created.visitId, created.currency))
            assertEquals("user-ana", created.owner)

            val vm = OrderViewModel(repo, scope, id)
            val empty = vm.state.await { it.order != null }
            assertTrue(empty.editable)
            assertFalse(empty.canSubmit, "an empty order is not submitted")
            assertEquals("0.00 EUR", empty.totals!!.gross)

            // 3 × 3.49 = 10.47; 10 % off = 1.047 -> 1.05; net 9.42; 7 % tax = 0.6594 -> 0.66.
            vm.addLine(rye.meta.id, "3", "10").join()
            val one = vm.state.await { it.lines.size == 1 && !it.busy }
            assertNull(one.message)
            assertEquals(TotalsText("10.47 EUR", "1.05 EUR", "9.42 EUR", "0.66 EUR", "10.08 EUR"), one.totals)
            assertEquals("Roggenbrot (AB-1001)", one.lines[0].productLabel())
            assertEquals("10 %", one.lines[0].discountText())
            assertEquals(349L, one.lines[0].line.unitPriceMinor)

            // Refusals: the library's typed errors as messages; nothing is written.
            suspend fun refused(expected: String, action: () -> Job) {
                val before = vm.state.value
                action().join()
                // The lines as they were.
                val shown = vm.state.await { it.message != null && !it.busy && it.lines == before.lines }
                assertTrue(shown.message!!.startsWith(expected), shown.message)
                assertEquals(before.order!!.totals, shown.order!!.totals)
                vm.dismissMessage()
                vm.state.await { it.message == null }
            }
            refused("A quantity is at least 1") { vm.addLine(rye.meta.id, "-2") }
            refused("A quantity is at least 1") { vm.addLine(rye.meta.id, "0") }
            refused(QUANTITY_MESSAGE) { vm.addLine(rye.meta.id, "two") }
            refused(DISCOUNT_MESSAGE) { vm.addLine(rye.meta.id, "1", "-5") }
            // Over 100 %: the library refuses the line with its discount; nothing is written.
            refused("A discount is at most 100 %.") { vm.addLine(rye.meta.id, "1", "150") }
            refused(NO_PRICE_MESSAGE) { vm.addLine(cake.meta.id, "1") }
            refused("That record no longer exists") { vm.addLine("no-such-product", "1") }
            val typed = assertFailsWith<FieldCrmException.InvalidValue> { repo.addOrderLine(id, cake.meta.id, 1) }
            assertEquals("currency" to ValidationRule.OUT_OF_RANGE, typed.field to typed.rule)

            // Change and remove a line; the totals follow.
            vm.addLine(rye.meta.id, "1").join()
            val second = vm.state.await { it.lines.size == 2 && !it.busy }.lines.first { it.line.discountBp == 0u }
            vm.changeLine(second.line.id, quantityText = "4", discountText = "12,5").join()
            // The line: 13.96, 12.5 % = 1.745 -> 1.75, net 12.21, tax 0.8547 -> 0.85; the order: sums.
            val changed = vm.state.await { s -> s.lines.any { it.line.quantity == 4L } && !s.busy }
            assertEquals("12.5 %", changed.lines.first { it.line.id == second.line.id }.discountText())
            assertEquals(TotalsText("24.43 EUR", "2.80 EUR", "21.63 EUR", "1.51 EUR", "23.14 EUR"), changed.totals)
            refused("A discount is at most 100 %.") { vm.changeLine(second.line.id, discountText = "100.01") }
            refused("A quantity is at least 1") { vm.changeLine(second.line.id, quantityText = "-1") }
            vm.removeLine(second.line.id).join()
            assertEquals("10.08 EUR", vm.state.await { it.lines.size == 1 && !it.busy }.totals!!.gross)

            // The visit's and the customer's orders list it, live, with the library's totals.
            assertEquals(1008L, visitOrders.state.await { it.orders.singleOrNull()?.totals?.grossMinor == 1008L }.orders[0].totals.grossMinor)
            val customerOrders = OrdersViewModel(repo, scope, OrdersOf.Customer(shop.meta.id))
            val listed = customerOrders.state.await { it.orders.size == 1 }.orders.single()
            assertEquals("Draft · 1 line · 10.08 EUR", listed.summaryText())
            assertEquals("Bäckerei Nord", listed.customerName)

            // Submitted: the lines are frozen, and the view model says so.
            vm.submit().join()
            val submitted = vm.state.await { it.order?.status == OrderStatus.Submitted && !it.busy }
            assertTrue(submitted.frozen)
            assertFalse(submitted.editable)
            assertFalse(submitted.canSubmit)
            assertTrue(submitted.canCancel)
            val line = submitted.lines.single().line.id
            refused(ORDER_FROZEN_MESSAGE) { vm.addLine(rye.meta.id, "1") }
            refused(ORDER_FROZEN_MESSAGE) { vm.changeLine(line, quantityText = "9") }
            refused(ORDER_FROZEN_MESSAGE) { vm.removeLine(line) }
            val frozen = assertFailsWith<FieldCrmException.InvalidValue> { repo.removeOrderLine(id, line) }
            assertEquals("lines" to ValidationRule.IMMUTABLE, frozen.field to frozen.rule)
            assertEquals("Submitted · 1 line · 10.08 EUR", customerOrders.state.await { it.orders[0].status == OrderStatus.Submitted }.orders[0].summaryText())

            // It can still be cancelled; after that, nothing more.
            vm.cancel().join()
            val cancelled = vm.state.await { it.order?.status == OrderStatus.Cancelled && !it.busy }
            assertFalse(cancelled.canCancel)
            assertEquals("10.08 EUR", cancelled.totals!!.gross)
            assertEquals(listOf(OrderStatus.Draft, OrderStatus.Submitted, OrderStatus.Cancelled), repo.order(id)!!.statusHistory.map { it.status })
            refused("This order has already moved on") { vm.submit() }
        }

    @Test
    fun `typed discounts and quantities, and percents shown`() {
        assertEquals(1250, parseDiscount("12,5"))
        assertEquals(1250, parseDiscount(" 12.50 % "))
        assertEquals(1000, parseDiscount("10"))
        assertEquals(15_000, parseDiscount("150"), "over 100 % reads; the library refuses it")
        assertNull(parseDiscount("  "))
        for (bad in listOf("-5", "abc", "12.345", "1e3", "12,", "99999999")) {
            assertEquals(DISCOUNT_MESSAGE, assertThrows<IllegalArgumentException> { parseDiscount(bad) }.message, bad)
        }
        assertEquals(-2L, parseQuantity(" -2 "), "read as typed; the library refuses it")
        assertEquals(QUANTITY_MESSAGE, assertThrows<IllegalArgumentException> { parseQuantity("2.5") }.message)
        assertEquals(listOf("0 %", "10 %", "12.5 %", "7.25 %", "100 %"), listOf(0, 1000, 1250, 725, 10_000).map(::percentText))
    }

    @Test
    fun `a line whose product this phone does not know is shown as unknown`() = runBlocking<Unit> {
        val (store, repo) = storeAndRepository()
        val rye = store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L))
        val shop = repo.createCustomer(CustomerDraft("Bäckerei Nord"))
        val order = repo.createOrder(shop.meta.id, null, "EUR")
        val withRye = repo.addOrderLine(order.meta.id, rye.meta.id, 2)
        // A line for a product this phone never received (another device's newer catalog).
        withContext(io) {
            store.updateOrder(
                withRye.copy(
                    lines = withRye.lines + OrderLine(
                        id = "line-from-elsewhere",
                        productId = "product-not-here",
                        sku = "ZZ-9",
                        name = "Something new",
                        quantity = 1,
                        unitPriceMinor = 500,
                        taxRateBp = 0u,
                        discountBp = 0u,
                    ),
                ),
            )
        }
        val vm = OrderViewModel(repo, scope, order.meta.id)
        val shown = vm.state.await { it.lines.size == 2 }
        val unknown = shown.lines.single { !it.productKnown }
        assertEquals("Unknown product (ZZ-9)", unknown.productLabel())
        assertEquals(1, shown.unknownProducts)
        // Its line counts in the totals all the same: 6.98 + 7 % (0.4886 -> 0.49) + 5.00.
        assertEquals("12.47 EUR", shown.totals!!.gross)
        val listed = OrdersViewModel(repo, scope, OrdersOf.Customer(shop.meta.id)).state.await { it.orders.size == 1 }
        assertEquals("Draft · 2 lines · 12.47 EUR · 1 unknown product", listed.orders[0].summaryText())
        vm.removeLine(unknown.line.id).join()
        assertEquals(0, vm.state.await { it.lines.size == 1 && !it.busy }.unknownProducts)

        assertEquals("This order is not on this phone.", OrderViewModel(repo, scope, "missing").state.await { it.message != null }.message)
    }

    @Test
    fun `an order taken offline during a visit reaches the manager's phone through the server`() = runBlocking<Unit> {
        val db = dir.resolve("server.sqlite")
        ServerProcess.seed(db)
        for ((user, role) in listOf("ada" to "admin", "mia" to "manager")) {
            ServerProcess.admin(db, "user", "add", "--username", user, "--password", PASSWORD, "--role", role, "--team", "north")
        }
        val base = ServerProcess.start(db).also { server = it }.base
        val auth = AuthApi(base, dispatcher = io)
        class Device(val store: FieldStore, val repo: FieldRepository, val token: String)
        suspend fun device(user: String): Device {
            val login = auth.login(user, PASSWORD)
            val (store, repo) = storeAndRepository("$user.sqlite", user = login.userId)
            auth.registerDevice(login.token, repo.actorId())
            return Device(store, repo, login.token)
        }
        // No network: a port nothing listens on (the request does not reach a server).
        val closedPort = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        fun runner(device: Device, online: () -> Boolean = { true }) =
            SyncRunner(device.repo) { OkHttpSyncTransport(if (online()) base else "http://127.0.0.1:$closedPort") { device.token } }

        // The admin's catalog.
        val ada = device("ada")
        val rye = ada.store.product("AB-1001", "Roggenbrot", "bread", mapOf("EUR" to 349L))
        ada.store.product("AB-1002", "Dinkelbrot", "bread", mapOf("EUR" to 399L))
        assertEquals(0L, (runner(ada).run() as SyncOutcome.Synced).report.rejected.toLong())

        // Ana syncs the catalog in the morning; then the network is gone.
        val anaDevice = device("ana")
        val ana = anaDevice.repo
        var online = true
        val anaSync = runner(anaDevice) { online }
        assertTrue(anaSync.run() is SyncOutcome.Synced)
        online = false

        val shop = ana.createCustomer(CustomerDraft("Bäckerei am Hafen", territory = "harbour"))
        val visit = ana.planVisit(shop.meta.id, plannedStart = clock.now)
        val catalog = CatalogViewModel(ana, scope, debounceMs = 0)
        catalog.onQueryChange("roggen")
        val found = catalog.state.await { it.query == "roggen" && !it.searching && it.products.isNotEmpty() }.products.single()
        assertEquals(rye.meta.id, found.id)
        val orderId = OrdersViewModel(ana, scope, OrdersOf.Visit(visit.meta.id)).startOrder("EUR")!!
        val entry = OrderViewModel(ana, scope, orderId)
        entry.addLine(found.id, "5", "10").join()
        // 5 × 3.49 = 17.45; 10 % = 1.745 -> 1.75; net 15.70; 7 % = 1.099 -> 1.10; gross 16.80.
        assertEquals("16.80 EUR", entry.state.await { it.lines.size == 1 && !it.busy }.totals!!.gross)
        entry.submit().join()
        entry.state.await { it.frozen && !it.busy }
        assertTrue(anaSync.run() is SyncOutcome.Offline, "no network: the order waits on the phone")
        assertTrue(ana.syncStatusNow().pendingChanges > 0uL)

        // Back online, later: the order goes up, nothing refused.
        online = true
        val synced = anaSync.run() as SyncOutcome.Synced
        assertEquals(0L, synced.report.rejected.toLong())
        assertEquals(0uL, ana.syncStatusNow().pendingChanges)

        // The manager's phone sees it after its own sync, totals and all, frozen.
        val miaDevice = device("mia")
        val mia = miaDevice.repo
        val miaOrders = OrdersViewModel(mia, scope, OrdersOf.Customer(shop.meta.id))
        assertTrue(miaOrders.state.await { !it.loading }.orders.isEmpty())
        assertTrue(runner(miaDevice).run() is SyncOutcome.Synced)
        val seen = miaOrders.state.await { it.orders.size == 1 }.orders.single()
        assertEquals(orderId, seen.id)
        assertEquals(visit.meta.id, seen.visitId)
        assertEquals("Submitted · 1 line · 16.80 EUR", seen.summaryText())
        val detail = OrderViewModel(mia, scope, orderId).state.await { it.lines.size == 1 }
        assertTrue(detail.frozen)
        assertEquals("Roggenbrot (AB-1001)", detail.lines.single().productLabel())
        assertEquals(TotalsText("17.45 EUR", "1.75 EUR", "15.70 EUR", "1.10 EUR", "16.80 EUR"), detail.totals)
        assertEquals(1, OrdersViewModel(mia, scope, OrdersOf.Visit(visit.meta.id)).state.await { it.orders.isNotEmpty() }.orders.size)
    }
}
