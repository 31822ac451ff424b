package app.fieldcrm.android.logic

import app.fieldcrm.android.logic.ServerProcess.Companion.PASSWORD
import app.fieldcrm.core.CaseStatus
import app.fieldcrm.core.Severity
import app.fieldcrm.core.SurveyEntrant
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Service cases on the phone: the rep's work list, a case moved on and surveyed, and the same across two phones. */
@Timeout(180)
class CasesTest : StoreTest() {
    private var server: ServerProcess? = null

    @AfterEach
    fun stopServer() {
        server?.close()
    }

    @Test
    fun `the rep's cases come soonest due first, and overdue ones show as the clock moves`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle"))
        val list = CasesViewModel(repo, scope, clock, redrawEveryMs = 3_600_000)
        assertTrue(list.state.await { !it.loading }.rows.isEmpty())

        val routineId = list.openCase("Wrong invoice", Severity.Low, forCustomer = shop.meta.id)!!
        val urgentId = list.openCase("Cold room broken", Severity.Critical, forCustomer = shop.meta.id)!!
        val rows = list.state.await { it.rows.size == 2 }.rows
        assertEquals(listOf(urgentId, routineId), rows.map { it.summary.id }, "the critical case is due first")
        assertEquals("user-ana", rows[0].summary.assignee, "a case the rep opens is hers")
        assertFalse(rows[0].overdue)
        assertTrue(rows[0].dueText!!.startsWith("Due in "), rows[0].dueText)

        // Five hours later the critical case (due after 4) is overdue; the low one is not.
        clock.now = rows[0].summary.dueAt!! + 3_600_000
        list.clockMoved()
        val later = list.state.await { it.overdueCount == 1 }
        assertEquals("Overdue by 1 h", later.rows[0].dueText)
        assertFalse(later.rows[1].overdue)

        // Handed to another rep, or resolved, a case leaves her list.
        repo.assignCase(routineId, "user-ben")
        repo.setCaseStatus(urgentId, CaseStatus.Resolved, "replaced the compressor")
        list.state.await { it.rows.isEmpty() }

        // Without a customer there is nothing to open a case for: a message, nothing written.
        assertNull(list.openCase("No customer"))
        assertEquals("Pick the customer the case is about.", list.state.await { it.message != null }.message)
    }

    @Test
    fun `a case moves on with notes, and its survey waits for the resolution`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle"))
        val caseId = repo.openCase(shop.meta.id, "Crate arrived broken").meta.id
        val vm = CaseViewModel(repo, scope, caseId)
        val opened = vm.state.await { it.detail != null }
        assertEquals("Fischhalle", opened.customerName)
        assertFalse(opened.surveyAllowed)
        assertEquals(listOf(CaseStatus.InProgress, CaseStatus.Resolved, CaseStatus.Closed), opened.nextStatuses)

        vm.recordSurvey(5, null, SurveyEntrant.Customer).join()
        assertEquals(SURVEY_BEFORE_RESOLUTION_MESSAGE, vm.state.await { it.message != null }.message)
        assertNull(repo.caseDetail(caseId)!!.record.survey, "nothing was written")
        vm.dismissMessage()

        vm.moveTo(CaseStatus.InProgress, "called the driver").join()
        val working = vm.state.await { it.detail?.record?.status == CaseStatus.InProgress }.detail!!
        assertEquals("called the driver", working.record.statusHistory.last().note)
        assertNotNull(working.firstResponseMs)
        assertNull(working.resolutionMs)

        vm.moveTo(CaseStatus.Resolved, "new crate delivered").join()
        val resolved = vm.state.await { it.detail?.record?.status == CaseStatus.Resolved }
        assertTrue(resolved.surveyAllowed)
        assertNotNull(resolved.detail!!.resolutionMs)
        assertEquals(
            listOf(null to CaseStatus.Open, CaseStatus.Open to CaseStatus.InProgress, CaseStatus.InProgress to CaseStatus.Resolved),
            resolved.detail!!.record.statusHistory.map { it.from to it.to },
        )

        vm.recordSurvey(9, null, SurveyEntrant.Customer).join()
        assertEquals(SURVEY_SCORE_MESSAGE, vm.state.await { it.message != null }.message)
        vm.dismissMessage()
        vm.recordSurvey(4, " quick, friendly ", SurveyEntrant.Customer).join()
        val survey = vm.state.await { it.detail?.record?.survey != null }.detail!!.record.survey!!
        assertEquals(Triple(4.toUByte(), "quick, friendly", SurveyEntrant.Customer), Triple(survey.score, survey.comment, survey.enteredBy))
        assertEquals("user-ana", survey.by)
    }

    @Test
    fun `a case opened on one phone is taken over, resolved and surveyed on another through the real server`() = runBlocking<Unit> {
        val db = dir.resolve("server.sqlite")
        ServerProcess.seed(db)
        val base = ServerProcess.start(db).also { server = it }.base
        val auth = AuthApi(base, dispatcher = io)

        suspend fun phone(user: String): Pair<FieldRepository, SyncRunner> {
            val login = auth.login(user, PASSWORD)
            val repo = repository("$user.sqlite", user = login.userId)
            auth.registerDevice(login.token, repo.actorId())
            return repo to SyncRunner(repo) { OkHttpSyncTransport(base) { login.token } }
        }
        val (ana, anaSync) = phone("ana")
        val (ben, benSync) = phone("ben")

        val shop = ana.createCustomer(CustomerDraft("Fischhalle Altona", territory = "harbour"))
        val caseId = ana.openCase(shop.meta.id, "Cold room broken", Severity.High).meta.id
        val anaList = CasesViewModel(ana, scope, clock)
        anaList.state.await { it.rows.size == 1 }
        assertTrue(anaSync.run() is SyncOutcome.Synced)

        // Ben receives it among the customer's cases, takes it over, resolves it, and the
        // customer scores it on his phone.
        assertTrue(benSync.run() is SyncOutcome.Synced)
        val benCustomerCases = CasesViewModel(ben, scope, clock, customerId = shop.meta.id)
        assertEquals(listOf(caseId), benCustomerCases.state.await { it.rows.isNotEmpty() }.rows.map { it.summary.id })
        val benCase = CaseViewModel(ben, scope, caseId)
        benCase.state.await { it.detail != null }
        benCase.takeOver().join()
        benCase.moveTo(CaseStatus.Resolved, "compressor replaced").join()
        benCase.state.await { it.surveyAllowed && !it.busy }
        benCase.recordSurvey(5, "fast", SurveyEntrant.Customer).join()
        benCase.state.await { it.detail?.record?.survey != null }
        assertTrue(benSync.run() is SyncOutcome.Synced)

        // On ana's phone the case left her list, and shows who resolved it and the score.
        assertTrue(anaSync.run() is SyncOutcome.Synced)
        anaList.state.await { it.rows.isEmpty() }
        val detail = ana.caseDetail(caseId)!!
        val benUser = ben.userId()
        assertEquals(benUser, detail.record.assignee)
        assertEquals(CaseStatus.Resolved, detail.record.status)
        assertEquals(benUser, detail.record.statusHistory.last().by)
        assertEquals(5.toUByte() to benUser, detail.record.survey!!.score to detail.record.survey!!.by)
        assertNotNull(detail.resolutionMs)
    }
}
