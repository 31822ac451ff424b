package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.CustomerInsight
import app.fieldcrm.core.FieldStore
import app.fieldcrm.core.InsightOffer
import app.fieldcrm.core.OfferProduct
import app.fieldcrm.core.OrderStatus
import app.fieldcrm.core.Product
import app.fieldcrm.core.newProduct
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/**
 * The visit screen's analytics card: why this customer matters (value, class, churn risk) and
 * what to offer, from the card's wording down to a real server's analytics run reaching the
 * phone and an order taken offline changing the offer.
 */
@Timeout(180)
class InsightCardTest : StoreTest() {
    private var server: ServerProcess? = null

    @AfterEach
    fun stopServer() {
        server?.close()
    }

    private fun insight(
        clv: Double? = 250_000.0,
        churn: String? = "high",
        pAlive: Double? = 0.42,
        offers: List<InsightOffer> = emptyList(),
    ) = CustomerInsight(
        customerId = "c1",
        runId = 3L,
        asOf = 1_790_000_000_000L,
        currency = "EUR",
        segment = "at_risk",
        abcClass = "A",
        revenueMinor = 120_000L,
        recencyDays = 95L,
        frequency = 12L,
        monetaryMinor = 10_000L,
        clv12mMinor = clv,
        expectedPurchases90d = 0.4,
        pAlive = pAlive,
        churnLevel = churn,
        churnScore = 0.58,
        offers = offers,
        runOffers = emptyList(),
        boughtSinceRun = emptyList(),
    )

    @Test
    fun `the card says why the customer matters and what to offer`() {
        val offer = InsightOffer(
            product = OfferProduct("p-filters", "Coffee filters"),
            because = listOf(OfferProduct("p-coffee", "Espresso beans"), OfferProduct("p-cups", null)),
            confidence = 0.734,
            lift = 2.5,
            support = 0.02,
        )
        val card = insight(offers = listOf(offer)).toCard()
        assertEquals("Worth 2500.00 EUR in the next 12 months", card.value)
        assertEquals("Class A: top revenue", card.abcClass)
        assertEquals("At risk", card.segment)
        assertEquals("Churn risk: high · 42% likely still buying", card.churnRisk)
        assertTrue(card.highRisk)
        val line = card.offers.single()
        assertEquals("p-filters", line.productId)
        assertEquals(73, line.confidencePercent)
        assertEquals(
            "Customers who buy Espresso beans and p-cups also buy Coffee filters (73%)",
            line.label,
            "a product not on this phone shows its id",
        )

        // No value estimated, no churn figure: the revenue, and no risk line.
        val plain = insight(clv = null, churn = null, pAlive = null).toCard()
        assertEquals("Revenue 1200.00 EUR", plain.value)
        assertNull(plain.churnRisk)
        assertFalse(plain.highRisk)
        assertTrue(plain.offers.isEmpty())
    }

    /** A catalog entry, written as an admin's device would (the app itself never writes one). */
    private suspend fun FieldStore.product(sku: String, name: String): Product = withContext(io) {
        createProduct(newProduct(sku, name).copy(prices = mapOf("EUR" to 500L)))
    }

    @Test
    fun `a run reaches the visit screen with one sync and an order taken offline changes the offer`() = runBlocking<Unit> {
        val db = dir.resolve("server.sqlite")
        ServerProcess.seed(db)
        ServerProcess.admin(db, "user", "add", "--username", "ada", "--password", PASSWORD, "--role", "admin", "--team", "north")
        val base = ServerProcess.start(db).also { server = it }.base
        val auth = AuthApi(base, dispatcher = io)
        class Device(val store: FieldStore, val repo: FieldRepository, val token: String)
        suspend fun device(user: String): Device {
            val login = auth.login(user, PASSWORD)
            val (store, repo) = storeAndRepository("$user.sqlite", user = login.userId)
            auth.registerDevice(login.token, repo.actorId())
            return Device(store, repo, login.token)
        }
        fun runner(device: Device) = SyncRunner(device.repo) { OkHttpSyncTransport(base) { device.token } }

        // The admin's catalog; ana syncs it, then sells: coffee goes with filters.
        val ada = device("ada")
        val coffee = ada.store.product("CO-1", "Espresso beans")
        val filters = ada.store.product("FI-1", "Coffee filters")
        val tea = ada.store.product("TE-1", "Green tea")
        assertTrue(runner(ada).run() is SyncOutcome.Synced)
        val anaDevice = device("ana")
        val ana = anaDevice.repo
        assertTrue(runner(anaDevice).run() is SyncOutcome.Synced)
        suspend fun sell(customerId: String, products: List<Product>, status: OrderStatus = OrderStatus.Submitted) {
            val order = ana.createOrder(customerId, null, "EUR")
            products.forEach { ana.addOrderLine(order.meta.id, it.meta.id, 1L) }
            if (status != OrderStatus.Draft) ana.setOrderStatus(order.meta.id, status)
        }
        for ((name, baskets) in listOf("Hafencafé" to 3, "Kaffeebar" to 2)) {
            val customer = ana.createCustomer(CustomerDraft(name, territory = "harbour"))
            repeat(baskets) { sell(customer.meta.id, listOf(coffee, filters)) }
        }
        val teaRoom = ana.createCustomer(CustomerDraft("Teestube", territory = "harbour"))
        repeat(2) { sell(teaRoom.meta.id, listOf(tea)) }
        val visit = ana.planVisit(teaRoom.meta.id, plannedStart = clock.now)
        val screen = VisitViewModel(ana, scope, FakeLocation(), visit.meta.id)
        assertNull(screen.state.await { it.visit != null }.insight, "no analytics before a run")
        assertTrue(runner(anaDevice).run() is SyncOutcome.Synced)

        // The nightly run, then one sync brings it.
        ServerProcess.admin(db, "analytics", "run")
        val synced = runner(anaDevice).run() as SyncOutcome.Synced
        assertTrue(synced.report.insightsRun != null, "${synced.report}")
        val card = screen.state.await { it.insight != null }.insight!!
        assertTrue(card.offers.isEmpty(), "tea buyers are offered nothing yet: $card")

        // Offline, at the visit: the tea room takes coffee for the first time; filters are offered.
        sell(teaRoom.meta.id, listOf(coffee), OrderStatus.Draft)
        val offered = screen.state.await { it.insight?.offers?.isNotEmpty() == true }.insight!!.offers.single()
        assertEquals(filters.meta.id, offered.productId)
        assertEquals("Customers who buy Espresso beans also buy Coffee filters (100%)", offered.label)
    }
}
