package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.CurrencyTotal
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.Stage
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.parseAmount
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/**
 * The rep's pipeline and a deal's stage changes over the real store, and across two phones
 * through a real `fieldcrm-server` process.
 */
@Timeout(120)
class OpportunitiesTest : StoreTest() {
    private var server: ServerProcess? = null

    @AfterEach
    fun stopServer() {
        server?.close()
    }

    private fun eur(text: String) = parseAmount(text, "EUR")

    @Test
    fun `the pipeline shows the rep's own deals by stage with totals, live`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle"))
        val vm = PipelineViewModel(repo, scope)
        assertTrue(vm.state.await { !it.loading }.isEmpty)
        assertEquals(PICKABLE_STAGES, vm.state.value.stages.map { it.stage }, "every stage, empty ones too")

        val ovens = repo.createOpportunity(DealDraft(shop.meta.id, "Ovens", eur("12500.50"), probability = 40))
        repo.createOpportunity(DealDraft(shop.meta.id, "Scales", parseAmount("800", "CHF")))
        val lead = vm.state.await { it.stages.firstOrNull()?.deals?.size == 2 }.stages[0]
        assertEquals(Stage.Lead, lead.stage)
        assertEquals(
            listOf(CurrencyTotal("CHF", 1u, 80_000, 8_000), CurrencyTotal("EUR", 1u, 1_250_050, 500_020)),
            lead.totals,
        )
        assertEquals("12500.50 EUR", lead.totals[1].amountText())
        assertEquals("5000.20 EUR", lead.totals[1].weightedText())
        assertEquals("Fischhalle", lead.deals.first { it.id == ovens.meta.id }.customerName)

        // Another rep's deal on this phone is not in her pipeline.
        repo.updateOpportunity(repo.createOpportunity(DealDraft(shop.meta.id, "Ben's", eur("1"))).meta.id) {
            it.copy(owner = "user-ben")
        }
        repo.changeStage(ovens.meta.id, Stage.Won)
        val moved = vm.state.await { s -> s.stages.first { it.stage == Stage.Won }.deals.size == 1 }
        assertEquals(listOf("Scales"), moved.stages[0].deals.map { it.title })
        assertEquals(listOf(CurrencyTotal("CHF", 1u, 80_000, 8_000)), moved.openTotals, "won deals are not open")

        vm.filter(Stage.Won)
        val won = vm.state.await { it.stageFilter == Stage.Won && !it.loading && it.stages.size == 1 }
        assertEquals(listOf("Ovens"), won.stages.single().deals.map { it.title })
        vm.filter(null)
        vm.state.await { it.stageFilter == null && it.stages.size == PICKABLE_STAGES.size }
    }

    @Test
    fun `a loss needs its reason, shown as a typed error, and the terms can be edited`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle"))
        val deal = repo.createOpportunity(DealDraft(shop.meta.id, "Ovens", eur("1000"), probability = 40))
        val vm = DealViewModel(repo, scope, deal.meta.id)
        val shown = vm.state.await { it.deal != null }
        assertEquals("Fischhalle", shown.customerName)
        assertEquals("1000.00 EUR", shown.amountText)
        assertEquals("400.00 EUR", shown.weightedText)
        assertFalse(Stage.Lead in shown.nextStages)

        // The repository throws the library's typed error...
        val refused = assertFailsWith<FieldCrmException.InvalidValue> { repo.changeStage(deal.meta.id, Stage.Lost, null) }
        assertEquals("lost_reason" to ValidationRule.REQUIRED, refused.field to refused.rule)
        // ... which the screen turns into a request for the reason; nothing was written.
        vm.changeStage(Stage.Lost, "  ").join()
        val asked = vm.state.await { it.lostReasonRequired && !it.busy }
        assertEquals(LOST_REASON_MESSAGE, asked.message)
        assertEquals(Stage.Lead, asked.deal!!.stage)
        assertEquals(1, asked.deal!!.stageHistory.size)

        vm.changeStage(Stage.Lost, "Bought second-hand").join()
        val lost = vm.state.await { it.deal?.stage == Stage.Lost && !it.busy }
        assertFalse(lost.lostReasonRequired)
        assertNull(lost.message)
        assertEquals("Bought second-hand", lost.lostReason)
        assertEquals(listOf(Stage.Lead, Stage.Lost), lost.deal!!.stageHistory.map { it.stage })

        vm.changeStage(Stage.Negotiation).join()
        val reopened = vm.state.await { it.deal?.stage == Stage.Negotiation && !it.busy }
        assertNull(reopened.lostReason)

        vm.saveTerms(amountText = "1500,50", probability = 60, expectedCloseAt = 1_798_675_200_000).join()
        val saved = vm.state.await { it.deal?.amount?.minor == 150_050L && !it.busy }.deal!!
        assertEquals(60, saved.probability?.toInt())
        assertEquals(1_798_675_200_000, saved.expectedCloseAt)
        vm.saveTerms(amountText = "-5").join()
        assertTrue(vm.state.await { it.message != null && !it.busy }.message!!.startsWith("Amount"))
        vm.dismissMessage()
        vm.saveTerms(probability = 101).join()
        assertEquals("The probability is a percent from 0 to 100.", vm.state.await { it.message != null && !it.busy }.message)

        val gone = DealViewModel(repo, scope, "missing")
        assertEquals("This deal is not on this phone.", gone.state.await { it.message != null }.message)
    }

    @Test
    fun `a rep opens a deal for a customer from what she typed`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle"))
        val vm = NewDealViewModel(repo, shop.meta.id)
        assertNull(vm.create(" ", "100", "EUR"))
        assertEquals("Title is required.", vm.state.value.message)
        assertNull(vm.create("Ovens", "12.345", "EUR"))
        assertTrue(vm.state.value.message!!.startsWith("Amount"), vm.state.value.message)
        assertNull(vm.create("Ovens", "100", "EUR", probability = 120))
        assertEquals("The probability is a percent from 0 to 100.", vm.state.value.message)

        val id = vm.create("Ovens", "12500,50", "eur", probability = 40, expectedCloseAt = 1_798_675_200_000)!!
        assertNull(vm.state.value.message)
        val deal = repo.opportunity(id)!!
        assertEquals(Stage.Lead, deal.stage)
        assertEquals(1_250_050L to "EUR", deal.amount.minor to deal.amount.currency)
        assertEquals("user-ana", deal.owner)
        assertEquals(1_798_675_200_000, deal.expectedCloseAt)
    }

    @Test
    fun `a stage change on one phone reaches the other rep's pipeline through the server`() = runBlocking<Unit> {
        val db = dir.resolve("server.sqlite")
        ServerProcess.seed(db)
        val base = ServerProcess.start(db).also { server = it }.base
        val auth = AuthApi(base, dispatcher = io)
        val anaLogin = auth.login("ana", PASSWORD)
        val ana = repository("ana.sqlite", user = anaLogin.userId)
        auth.registerDevice(anaLogin.token, ana.actorId())
        val benLogin = auth.login("ben", PASSWORD)
        val ben = repository("ben.sqlite", user = benLogin.userId)
        auth.registerDevice(benLogin.token, ben.actorId())
        val anaSync = SyncRunner(ana) { OkHttpSyncTransport(base) { anaLogin.token } }
        val benSync = SyncRunner(ben) { OkHttpSyncTransport(base) { benLogin.token } }

        val shop = ana.createCustomer(CustomerDraft("Fischhalle Altona", territory = "harbour"))
        val deal = ana.createOpportunity(DealDraft(shop.meta.id, "Ovens", eur("12500"), probability = 50))
        val anaPipeline = PipelineViewModel(ana, scope)
        anaPipeline.state.await { it.stages.firstOrNull()?.deals?.size == 1 }
        assertTrue(anaSync.run() is SyncOutcome.Synced)

        // Ben, of the same territory, gets the deal and loses it, with the reason.
        assertTrue(benSync.run() is SyncOutcome.Synced)
        val benDeal = DealViewModel(ben, scope, deal.meta.id)
        assertEquals("Fischhalle Altona", benDeal.state.await { it.deal != null }.customerName)
        benDeal.changeStage(Stage.Lost).join()
        benDeal.state.await { it.lostReasonRequired }
        benDeal.changeStage(Stage.Lost, "Chose a competitor").join()
        benDeal.state.await { it.deal?.stage == Stage.Lost && !it.busy }
        val benSynced = benSync.run() as SyncOutcome.Synced
        assertEquals(0L, benSynced.report.rejected.toLong())

        // Ana's pipeline, open all along, follows her next sync.
        assertTrue(anaSync.run() is SyncOutcome.Synced)
        val after = anaPipeline.state.await { s -> s.stages.first { it.stage == Stage.Lost }.deals.size == 1 }
        assertTrue(after.stages[0].deals.isEmpty())
        assertEquals(emptyList<CurrencyTotal>(), after.openTotals)
        val lost = ana.opportunity(deal.meta.id)!!
        assertEquals("Chose a competitor", lost.lostReason)
        assertEquals(listOf(anaLogin.userId, benLogin.userId), lost.stageHistory.map { it.by })
    }
}
