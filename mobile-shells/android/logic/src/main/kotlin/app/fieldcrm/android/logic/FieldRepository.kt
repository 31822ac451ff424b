package app.fieldcrm.android.logic

import app.fieldcrm.core.Activity
import app.fieldcrm.core.Case
import app.fieldcrm.core.CaseDetail
import app.fieldcrm.core.CaseStatus
import app.fieldcrm.core.CaseSummary
import app.fieldcrm.core.CategorySummary
import app.fieldcrm.core.Contact
import app.fieldcrm.core.ContactSummary
import app.fieldcrm.core.Customer
import app.fieldcrm.core.CustomerFilter
import app.fieldcrm.core.CustomerInsight
import app.fieldcrm.core.CustomerKind
import app.fieldcrm.core.CustomerSummary
import app.fieldcrm.core.DayRoute
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.FieldStore
import app.fieldcrm.core.GeoLocation
import app.fieldcrm.core.GpsFix
import app.fieldcrm.core.Money
import app.fieldcrm.core.Opportunity
import app.fieldcrm.core.Grade
import app.fieldcrm.core.LineEdit
import app.fieldcrm.core.Order
import app.fieldcrm.core.OrderDetail
import app.fieldcrm.core.OrderStatus
import app.fieldcrm.core.OrderSummary
import app.fieldcrm.core.ProductSummary
import app.fieldcrm.core.Query
import app.fieldcrm.core.QueryListener
import app.fieldcrm.core.QueryResult
import app.fieldcrm.core.RejectedChange
import app.fieldcrm.core.Severity
import app.fieldcrm.core.Stage
import app.fieldcrm.core.StageDeals
import app.fieldcrm.core.SyncCancellation
import app.fieldcrm.core.SyncReport
import app.fieldcrm.core.SyncStatus
import app.fieldcrm.core.SurveyEntrant
import app.fieldcrm.core.SyncTransport
import app.fieldcrm.core.TimelineEntry
import app.fieldcrm.core.Visit
import app.fieldcrm.core.VisitSummary
import app.fieldcrm.core.newActivity
import app.fieldcrm.core.newCase
import app.fieldcrm.core.newContact
import app.fieldcrm.core.newCustomer
import app.fieldcrm.core.newOpportunity
import app.fieldcrm.core.newVisit
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.mapNotNull
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withContext

/** What a rep types in to create a customer; the store fills in the rest with core's defaults. */
data class CustomerDraft(
    val name: String,
    val kind: CustomerKind = CustomerKind.Company,
    val addressLine: String? = null,
    val city: String? = null,
    val postalCode: String? = null,
    val phones: List<String> = emptyList(),
    val emails: List<String> = emptyList(),
    val grade: Grade? = null,
    val territory: String? = null,
    val owner: String? = null,
    val location: GeoLocation? = null,
    /** Null keeps core's default (150 m). */
    val visitRadiusM: Int? = null,
    val visitCadenceDays: Int? = null,
    val notes: String = "",
)

/** What a rep types in to open a deal; it starts at the lead stage, owned by the rep. */
data class DealDraft(
    val customerId: String,
    val title: String,
    val amount: Money,
    /** Percent, 0 to 100. */
    val probability: Int? = null,
    val expectedCloseAt: Long? = null,
)

/**
 * The app's one door to the offline store. Every call runs on [dispatcher] (`Dispatchers.IO` in
 * the app), never on the caller's thread: the library blocks on SQLite and, for sync, on the
 * network. Live queries are cold [Flow]s over `FieldStore.subscribe`: collecting one subscribes,
 * cancelling it unsubscribes.
 */
class FieldRepository(
    private val store: FieldStore,
    private val dispatcher: CoroutineDispatcher,
    private val clock: Clock = Clock.System,
    /**
     * The store's key was gone, so the unreadable store was replaced by an empty one (see
     * [EncryptedStores.open]): tell the rep that unsynced changes on this phone were lost.
     */
    val startedAfresh: Boolean = false,
) {
    companion object {
        /** Opens (or creates) the plaintext store file at [path] (tests and tools). */
        suspend fun open(
            path: String,
            dispatcher: CoroutineDispatcher,
            clock: Clock = Clock.System,
        ): FieldRepository = withContext(dispatcher) {
            FieldRepository(FieldStore.open(path), dispatcher, clock)
        }

        /**
         * Opens (or creates) the store file [fileName] of [stores], encrypted with its key from
         * the Keystore: what the app does.
         */
        suspend fun openEncrypted(
            stores: EncryptedStores,
            fileName: String,
            dispatcher: CoroutineDispatcher,
            clock: Clock = Clock.System,
        ): FieldRepository = withContext(dispatcher) {
            val opened = stores.open(fileName)
            FieldRepository(opened.store, dispatcher, clock, opened.startedAfresh)
        }
    }

    private val version = MutableStateFlow(0L)

    /**
     * Bumped after every write made through this repository and after every sync attempt. The
     * library has no live query for the sync status or for single records; this drives them.
     */
    val changes: StateFlow<Long> = version.asStateFlow()

    private fun changed() = version.update { it + 1 }

    private suspend fun <T> io(block: FieldStore.() -> T): T = withContext(dispatcher) { store.block() }

    private suspend fun <T> write(block: FieldStore.() -> T): T = io(block).also { changed() }

    // -- identity -------------------------------------------------------------------------------

    /** This device's actor id, to register with the server after login. */
    suspend fun actorId(): String = io { actorId() }

    /** The signed-in user's id (empty before the first login). */
    suspend fun userId(): String = io { user() }

    suspend fun setUser(userId: String) = write { setUser(userId) }

    // -- live queries ---------------------------------------------------------------------------

    private fun live(query: Query): Flow<QueryResult> = callbackFlow {
        // Runs on the dispatcher (flowOn below): the first result arrives inside subscribe.
        val subscription = store.subscribe(
            query,
            object : QueryListener {
                // Called on the thread of the write that changed the result.
                override fun onResult(result: QueryResult) {
                    trySend(result)
                }
            },
        )
        awaitClose {
            subscription.unsubscribe()
            subscription.close()
        }
    }.buffer(Channel.CONFLATED).flowOn(dispatcher)

    private fun Flow<QueryResult>.customers(): Flow<List<CustomerSummary>> =
        map { (it as? QueryResult.Customers)?.rows ?: emptyList() }

    private fun Flow<QueryResult>.visits(): Flow<List<VisitSummary>> =
        map { (it as? QueryResult.Visits)?.rows ?: emptyList() }

    /** Prefix search over name, contacts, city and phones; blank text lists customers by name. */
    fun searchCustomers(text: String, limit: Int = 50): Flow<List<CustomerSummary>> {
        val query = if (text.isBlank()) {
            Query.Customers(CustomerFilter(limit = limit.toUInt()))
        } else {
            Query.SearchCustomers(text.trim(), limit.toUInt())
        }
        return live(query).customers()
    }

    /** Customers closest to a position first, with `distanceM` set. */
    fun nearbyCustomers(lat: Double, lon: Double, maxDistanceM: Double? = null, limit: Int = 30): Flow<List<CustomerSummary>> =
        live(Query.NearbyCustomers(lat, lon, maxDistanceM, limit.toUInt())).customers()

    /** A rep's visits checked in (or planned) in `[from, to)`. */
    fun visitsForRep(rep: String, from: Long, to: Long): Flow<List<VisitSummary>> =
        live(Query.VisitsForRep(rep, from, to)).visits()

    /**
     * A customer's visits (of every rep this device sees), newest first by check-in or, before
     * check-in, planned start; at most [limit] (1 to 10,000).
     */
    fun visitsForCustomer(customerId: String, limit: Int = 20): Flow<List<VisitSummary>> {
        // The library reads a limit of 0 as its default (50); a negative one would wrap around.
        require(limit > 0) { "limit must be positive: $limit" }
        return live(Query.VisitsForCustomer(customerId, limit.toUInt())).visits()
    }

    /** A customer's contacts, by name. */
    fun contactsOfCustomer(customerId: String): Flow<List<ContactSummary>> =
        live(Query.ContactsOfCustomer(customerId)).map { (it as? QueryResult.Contacts)?.rows ?: emptyList() }

    /**
     * The signed-in rep's visits of today (in the clock's time zone); follows a new sign-in and
     * the next day on the next change.
     */
    fun todaysVisits(): Flow<List<VisitSummary>> =
        version.map { store.user() to clock.today() }
            .distinctUntilChanged()
            .flowOn(dispatcher)
            .flatMapLatest { (rep, day) -> visitsForRep(rep, day.start, day.end) }

    /**
     * The sync status, live: it follows local writes, acknowledgements, rejections and sync
     * rounds (including rounds run by the background worker), without polling.
     */
    fun syncStatus(): Flow<SyncStatus> =
        live(Query.SyncStatus).mapNotNull { (it as? QueryResult.SyncStatus)?.status }

    /**
     * Changes the server refused, newest first, with its reasons. Re-read whenever the sync
     * status changes: a rejection or a dismissal changes its count.
     */
    fun rejectedChanges(): Flow<List<RejectedChange>> =
        syncStatus()
            .map { store.rejectedChanges() }
            .distinctUntilChanged()
            .flowOn(dispatcher)

    // -- customers ------------------------------------------------------------------------------

    suspend fun customer(id: String): Customer? = io { getCustomer(id) }?.takeUnless { it.meta.deleted }

    suspend fun createCustomer(draft: CustomerDraft): Customer = write {
        val base = newCustomer(draft.name.trim())
        createCustomer(
            base.copy(
                customerKind = draft.kind,
                address = base.address.copy(line = draft.addressLine, city = draft.city, postalCode = draft.postalCode),
                phones = draft.phones,
                emails = draft.emails,
                grade = draft.grade,
                territory = draft.territory,
                owner = draft.owner,
                location = draft.location,
                visitRadiusM = draft.visitRadiusM?.toUInt() ?: base.visitRadiusM,
                visitCadenceDays = draft.visitCadenceDays?.toUInt(),
                notes = draft.notes,
            ),
        )
    }

    /**
     * Reads the customer, applies [edit] and saves it: only the fields that differ are written,
     * so concurrent edits of other fields on other devices survive the merge.
     */
    suspend fun updateCustomer(id: String, edit: (Customer) -> Customer): Customer = write {
        val current = getCustomer(id) ?: throw FieldCrmException.NotFound(id)
        updateCustomer(edit(current))
    }

    // -- contacts -------------------------------------------------------------------------------

    /** A new contact of a customer; blank phones and emails are left out. */
    suspend fun createContact(
        customerId: String,
        name: String,
        title: String? = null,
        phones: List<String> = emptyList(),
        emails: List<String> = emptyList(),
    ): Contact = write {
        createContact(
            newContact(customerId, name.trim()).copy(
                title = title?.trim()?.takeIf { it.isNotEmpty() },
                phones = phones.map { it.trim() }.filter { it.isNotEmpty() },
                emails = emails.map { it.trim() }.filter { it.isNotEmpty() },
            ),
        )
    }

    // -- activities and the timeline ------------------------------------------------------------

    /**
     * Logs a call, an email or a meeting; a draft without a time took place now. A contact must
     * be one of the customer's (the library refuses another customer's).
     */
    suspend fun logActivity(draft: ActivityDraft): Activity = write {
        logActivity(
            newActivity(draft.customerId, draft.channel, draft.occurredAt ?: 0, draft.subject.trim()).copy(
                contactId = draft.contactId,
                direction = draft.direction,
                durationS = draft.durationS?.toUInt(),
                notes = draft.notes.trim(),
                outcome = draft.outcome?.trim()?.takeIf { it.isNotEmpty() },
                nextStep = draft.nextStep?.trim()?.takeIf { it.isNotEmpty() },
                nextStepDueAt = draft.nextStepDueAt,
            ),
        )
    }

    suspend fun activity(id: String): Activity? = io { getActivity(id) }?.takeUnless { it.meta.deleted }

    /** The customer's visits, activities, orders and cases, newest first (live). */
    fun customerTimeline(customerId: String, limit: Int = 50): Flow<List<TimelineEntry>> {
        require(limit in 1..500) { "limit must be 1 to 500" }
        return live(Query.CustomerTimeline(customerId, limit.toUInt()))
            .map { (it as? QueryResult.Timeline)?.entries ?: emptyList() }
    }

    // -- visits ---------------------------------------------------------------------------------

    suspend fun visit(id: String): Visit? = io { getVisit(id) }?.takeUnless { it.meta.deleted }

    /** A planned visit of the signed-in rep. */
    suspend fun planVisit(customerId: String, plannedStart: Long? = null, plannedEnd: Long? = null): Visit = write {
        createVisit(newVisit(customerId, user()).copy(plannedStart = plannedStart, plannedEnd = plannedEnd))
    }

    /** Checks in with [fix]; the returned visit carries the offline verification. */
    suspend fun checkIn(visitId: String, fix: GpsFix): Visit = write { checkIn(visitId, fix) }

    suspend fun checkOut(visitId: String, fix: GpsFix, outcome: String? = null): Visit =
        write { checkOut(visitId, fix, outcome?.takeIf { it.isNotBlank() }) }

    /** Stores location pings between visits; they upload with the next sync. Returns the new ones. */
    suspend fun recordPings(fixes: List<GpsFix>): Int = write { recordPings(fixes).toInt() }

    suspend fun pingsBetween(from: Long, to: Long): List<GpsFix> = io { pingsBetween(from, to) }

    /** The signed-in rep's planned visits of `[dayStart, dayEnd)` in visiting order from a position. */
    suspend fun planDay(lat: Double, lon: Double, day: TimeRange = clock.today()): DayRoute =
        io { planDay(lat, lon, day.start, day.end) }

    // -- opportunities --------------------------------------------------------------------------

    /**
     * The signed-in rep's own deals by stage, live: every known stage in order (empty ones
     * included), each with count, amount and probability-weighted amount per currency, and its
     * deals, soonest expected close first (at most [limit] per stage); only [stage] when given.
     * Follows a new sign-in.
     */
    fun pipeline(stage: Stage? = null, limit: Int = 50): Flow<List<StageDeals>> {
        require(limit > 0) { "limit must be positive: $limit" }
        return version.map { store.user() }
            .distinctUntilChanged()
            .flowOn(dispatcher)
            .flatMapLatest { rep -> live(Query.DealsByStage(rep, stage, limit.toUInt())) }
            .map { (it as? QueryResult.DealsByStage)?.stages ?: emptyList() }
    }

    suspend fun opportunity(id: String): Opportunity? = io { getOpportunity(id) }?.takeUnless { it.meta.deleted }

    /** A new deal of the signed-in rep, at the lead stage. */
    suspend fun createOpportunity(draft: DealDraft): Opportunity = write {
        createOpportunity(
            newOpportunity(draft.customerId, draft.title.trim(), draft.amount).copy(
                probability = draft.probability?.toUByte(),
                expectedCloseAt = draft.expectedCloseAt,
                owner = user(),
            ),
        )
    }

    /** Reads the deal, applies [edit] and saves it (only the fields that differ are written). */
    suspend fun updateOpportunity(id: String, edit: (Opportunity) -> Opportunity): Opportunity = write {
        val current = getOpportunity(id) ?: throw FieldCrmException.NotFound(id)
        updateOpportunity(edit(current))
    }

    /**
     * Moves the deal to [stage]. A loss needs [lostReason]: without one this throws
     * `FieldCrmException.InvalidValue` for `lost_reason` (rule `REQUIRED`) and writes nothing.
     */
    suspend fun changeStage(id: String, stage: Stage, lostReason: String? = null): Opportunity =
        write { changeStage(id, stage, lostReason) }

    // -- service cases ----------------------------------------------------------------------------

    /**
     * Cases not yet resolved, live: the signed-in user's own (following a new sign-in) when
     * [customerId] is null, else the customer's, whoever handles them. Soonest due first.
     */
    fun openCases(customerId: String? = null): Flow<List<CaseSummary>> {
        val assignees: Flow<String?> = if (customerId != null) {
            flowOf(null)
        } else {
            version.map { store.user() }.distinctUntilChanged().flowOn(dispatcher)
        }
        return assignees
            .flatMapLatest { assignee -> live(Query.OpenCases(customerId, assignee)) }
            .map { (it as? QueryResult.Cases)?.rows ?: emptyList() }
    }

    /** The case with its service times, or null when it is not on this phone (or deleted). */
    suspend fun caseDetail(id: String): CaseDetail? = io { caseDetail(id) }?.takeUnless { it.record.meta.deleted }

    /** A new case for the customer, handled by the signed-in user; the store sets its due time. */
    suspend fun openCase(customerId: String, subject: String, severity: Severity = Severity.Medium): Case = write {
        createCase(newCase(customerId, subject.trim()).copy(severity = severity, assignee = user()))
    }

    /** Moves the case on; the store appends the history entry with [note]. */
    suspend fun setCaseStatus(id: String, status: CaseStatus, note: String? = null): Case =
        write { setCaseStatus(id, status, note?.trim()?.ifEmpty { null }) }

    suspend fun assignCase(id: String, assignee: String?): Case = write { assignCase(id, assignee) }

    /**
     * The customer's satisfaction with a resolved case. A score outside 1 to 5, or a case not
     * resolved yet, throws `FieldCrmException.InvalidValue` and writes nothing.
     */
    suspend fun recordCaseSurvey(id: String, score: Int, comment: String?, enteredBy: SurveyEntrant): Case {
        // Out of a byte's range it cannot reach the library's check: the same refusal here.
        val byte = score.takeIf { it in 0..255 }?.toUByte()
            ?: throw IllegalArgumentException(SURVEY_SCORE_MESSAGE)
        return write { recordCaseSurvey(id, byte, comment?.trim()?.ifEmpty { null }, enteredBy) }
    }

    // -- catalog and orders -----------------------------------------------------------------------

    private fun Flow<QueryResult>.products(): Flow<List<ProductSummary>> =
        map { (it as? QueryResult.Products)?.rows ?: emptyList() }

    private fun Flow<QueryResult>.orders(): Flow<List<OrderSummary>> =
        map { (it as? QueryResult.Orders)?.rows ?: emptyList() }

    /**
     * Products whose SKU or name has every typed word as a prefix (the library's full-text
     * search; "ab1001" finds "AB-1001"), active ones first, live: a catalog sync shows at once.
     * Blank text finds nothing.
     */
    fun searchProducts(text: String, limit: Int = 50): Flow<List<ProductSummary>> {
        require(limit > 0) { "limit must be positive: $limit" }
        return live(Query.SearchProducts(text.trim(), limit.toUInt())).products()
    }

    /**
     * The catalog's categories by name (case-insensitive), each with its count of active and of
     * all products (deleted ones not counted), at most [limit], live. Products without a
     * category are in none of them: search finds them.
     */
    fun productCategories(limit: Int = 200, offset: Int = 0): Flow<List<CategorySummary>> {
        require(limit > 0 && offset >= 0) { "limit must be positive and offset not negative: $limit, $offset" }
        return live(Query.ProductCategories(limit.toUInt(), offset.toUInt()))
            .map { (it as? QueryResult.Categories)?.rows ?: emptyList() }
    }

    /** A category's products, active ones first, by name, live. */
    fun productsInCategory(category: String, limit: Int = 100, offset: Int = 0): Flow<List<ProductSummary>> {
        require(limit > 0 && offset >= 0) { "limit must be positive and offset not negative: $limit, $offset" }
        return live(Query.ProductsInCategory(category, limit.toUInt(), offset.toUInt())).products()
    }

    /** A customer's orders with their totals, newest first (at most [limit]), live. */
    fun ordersOfCustomer(customerId: String, limit: Int = 50): Flow<List<OrderSummary>> {
        require(limit > 0) { "limit must be positive: $limit" }
        return live(Query.OrdersOfCustomer(customerId, limit.toUInt())).orders()
    }

    /** The orders taken at a visit, with their totals, live. */
    fun ordersOfVisit(visitId: String): Flow<List<OrderSummary>> = live(Query.OrdersOfVisit(visitId)).orders()

    /**
     * One order with its lines, each line's totals and whether its product is known, and the
     * order's totals (the library computes them all), live; null when it is not on this phone.
     */
    fun orderWithLines(orderId: String): Flow<OrderDetail?> =
        live(Query.OrderWithLines(orderId)).map { (it as? QueryResult.Order)?.order }

    /**
     * The customer's analytics from the server's last run with [offers] offers ranked now from
     * the synced rules and what the customer bought (orders taken since the run included),
     * live; null before a run reached this phone or when the run has no such customer.
     */
    fun customerInsight(customerId: String, offers: Int = 5): Flow<CustomerInsight?> =
        live(Query.CustomerInsight(customerId, offers.toUInt())).map { (it as? QueryResult.CustomerInsight)?.insight }

    suspend fun customerInsightNow(customerId: String, offers: Int = 5): CustomerInsight? =
        io { customerInsight(customerId, offers.toUInt()) }

    suspend fun order(id: String): Order? = io { getOrder(id) }?.takeUnless { it.meta.deleted }

    /** A new draft order of the signed-in rep for the customer in [currency], at [visitId] when given. */
    suspend fun createOrder(customerId: String, visitId: String?, currency: String): Order =
        write { createOrder(customerId, visitId, currency) }

    /**
     * Adds [quantity] of the product, priced as the product is now in the order's currency, with
     * [discountBp] (basis points: 1250 = 12.5 %), in one write. A product without a price in it
     * is `InvalidValue` on `currency`; a quantity below 1 is `InvalidValue` on `lines.quantity`;
     * a discount over 10,000 (100 %) is `InvalidValue` on `lines.discount_bp`; a submitted
     * order's lines are `InvalidValue` on `lines` (`IMMUTABLE`). Nothing is written then.
     */
    suspend fun addOrderLine(orderId: String, productId: String, quantity: Long, discountBp: Int = 0): Order {
        require(discountBp >= 0) { DISCOUNT_MESSAGE }
        return write { addOrderLine(orderId, productId, quantity, discountBp.toUInt()) }
    }

    /** Changes a line's quantity and/or discount (basis points: 1250 = 12.5 %; at most 10,000). */
    suspend fun editOrderLine(orderId: String, lineId: String, quantity: Long? = null, discountBp: Int? = null): Order {
        require(discountBp == null || discountBp >= 0) { DISCOUNT_MESSAGE }
        return write { editOrderLine(orderId, lineId, LineEdit(quantity, discountBp?.toUInt())) }
    }

    suspend fun removeOrderLine(orderId: String, lineId: String): Order = write { removeOrderLine(orderId, lineId) }

    /** Moves the order on (submitted, cancelled); the store appends the change to its history. */
    suspend fun setOrderStatus(orderId: String, status: OrderStatus): Order = write { setOrderStatus(orderId, status) }

    // -- sync -----------------------------------------------------------------------------------

    suspend fun syncStatusNow(): SyncStatus = io { syncStatus() }

    suspend fun rejectedChangesNow(): List<RejectedChange> = io { rejectedChanges() }

    /** Hides a record's refused changes once the user has seen them (the local edit stays). */
    suspend fun dismissRejections(docId: String) = write { dismissRejections(docId) }

    /**
     * Sends a refused record again as it reads now (after the rep fixed it): written onto the
     * server's version as new changes that the next sync pushes.
     */
    suspend fun retryRejected(docId: String) = write { retryRejected(docId) }

    /** Drops a record's refused changes: back to the server's version (acknowledged changes stay). */
    suspend fun discardRejected(docId: String) = write { discardRejected(docId) }

    /**
     * One sync round (push, then pull every page) through [transport]. Blocks a dispatcher
     * thread for its duration, including the library's offline retries (about 7.5 s), unless
     * the calling coroutine is cancelled (WorkManager stopping the worker, the screen going
     * away): then no further request starts, backoff waits end, and the round fails with
     * `FieldCrmException.Offline` ("sync cancelled"); nothing unacknowledged is lost.
     */
    suspend fun sync(transport: SyncTransport): SyncReport = coroutineScope {
        val cancellation = SyncCancellation()
        // Turns this coroutine's cancellation into the library's: the blocking call below
        // cannot be interrupted, but it checks the flag before every request and backoff wait.
        val watcher = launch {
            try {
                awaitCancellation()
            } finally {
                cancellation.cancel()
            }
        }
        try {
            withContext(dispatcher) { store.syncCancellable(transport, cancellation) }
        } finally {
            watcher.cancel()
            changed()
        }
    }

    /** Checks documents that arrived in a bootstrap; returns how many are left. */
    suspend fun verifyDocuments(limit: Int = 200): Long = io { verifyDocuments(limit.toUInt()).remaining.toLong() }

    /**
     * Closes the store: live queries stop and every later call fails with
     * [FieldCrmException.StoreClosed]. The native handle itself is freed by the cleaner.
     */
    suspend fun close() = withContext(dispatcher + NonCancellable) {
        store.closeStore()
        changed()
    }

    suspend fun isClosed(): Boolean = io { isClosed() }
}
