package app.fieldcrm.android.logic

import app.fieldcrm.core.ActivityChannel
import app.fieldcrm.core.ActivityDirection
import app.fieldcrm.core.ContactSummary
import app.fieldcrm.core.RecordKind
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Logging calls and emails from a contact's links, and the customer timeline, over the real store. */
@Timeout(60)
class ActivitiesTest : StoreTest() {
    private fun summary(id: String, customerId: String, name: String) =
        ContactSummary(id, customerId, name, null, listOf("+49 40 123-45 67"), listOf("eva@hafen.example"))

    @Test
    fun `tel and mailto links are built from what the contact holds`() {
        assertEquals("tel:+494012345670", telUri(" +49 (40) 123-4567 0 "))
        assertEquals("tel:0401234", telUri("040 1234"))
        assertNull(telUri("ask at the counter"))
        assertEquals("mailto:eva@hafen.example", mailtoUri(" eva@hafen.example "))
        assertEquals(
            "mailto:eva@hafen.example?subject=Preise%20f%C3%BCr%20Roggen%20%26%20Dinkel",
            mailtoUri("eva@hafen.example", "Preise für Roggen & Dinkel"),
        )
        assertNull(mailtoUri("not an address"))
        assertNull(mailtoUri("eva@hafen.example?cc=x@y.z oops"))
    }

    @Test
    fun `back from a call the app offers it prefilled, and confirming logs it into the timeline`() = runBlocking<Unit> {
        val repo = repository()
        val customer = repo.createCustomer(CustomerDraft("Hafenkiosk"))
        val contact = repo.createContact(customer.meta.id, "Eva Hansen", phones = listOf("+49 40 1234567"))
        val vm = ContactActionsViewModel(repo, scope, clock)
        val timeline = CustomerTimelineViewModel(repo, scope, customer.meta.id)
        assertEquals(emptyList<Any>(), timeline.state.await { !it.loading }.entries)

        vm.onForeground()
        assertNull(vm.state.value.offer, "nothing pending: nothing offered")
        val startedAt = clock.now
        val uri = vm.call(customer.meta.id, summary(contact.meta.id, customer.meta.id, "Eva Hansen"), "+49 40 1234567")
        assertEquals("tel:+49401234567", uri)
        clock.now += 185_000 // 3 min 5 s on the phone
        vm.onForeground()
        val offer = checkNotNull(vm.state.value.offer)
        assertEquals(ActivityChannel.Call, offer.channel)
        assertEquals(customer.meta.id to contact.meta.id, offer.customerId to offer.contactId)
        assertEquals(startedAt, offer.occurredAt)
        assertEquals(185, offer.durationS)
        assertEquals(ActivityDirection.Outbound, offer.direction)
        assertEquals("Call with Eva Hansen", offer.subject)

        val id = checkNotNull(vm.confirm { it.copy(outcome = "Orders on Monday") })
        assertNull(vm.state.value.offer)
        val logged = checkNotNull(repo.activity(id))
        assertEquals("Orders on Monday", logged.outcome)
        assertEquals(185u, logged.durationS)
        val entries = timeline.state.await { it.entries.isNotEmpty() }.entries
        assertEquals(listOf(RecordKind.ACTIVITY to id), entries.map { it.kind to it.id })

        vm.onForeground()
        assertNull(vm.state.value.offer, "offered once")
    }

    @Test
    fun `an email offer has no length and a dismissed one writes nothing`() = runBlocking<Unit> {
        val repo = repository()
        val customer = repo.createCustomer(CustomerDraft("Hafenkiosk"))
        val contact = repo.createContact(customer.meta.id, "Eva Hansen", emails = listOf("eva@hafen.example"))
        val vm = ContactActionsViewModel(repo, scope, clock)
        val who = summary(contact.meta.id, customer.meta.id, "Eva Hansen")
        assertNull(vm.email(customer.meta.id, who, "no address"), "nothing to open")
        vm.onForeground()
        assertNull(vm.state.value.offer, "nor anything remembered")

        assertNotNull(vm.email(customer.meta.id, who, "eva@hafen.example", "Prices"))
        clock.now += 60_000
        vm.onForeground()
        val offer = checkNotNull(vm.state.value.offer)
        assertEquals(ActivityChannel.Email, offer.channel)
        assertNull(offer.durationS)
        assertEquals("Email to Eva Hansen", offer.subject)
        vm.dismiss()
        assertNull(vm.state.value.offer)
        val timeline = CustomerTimelineViewModel(repo, scope, customer.meta.id)
        assertEquals(emptyList<Any>(), timeline.state.await { !it.loading }.entries)
    }

    @Test
    fun `a refused activity keeps the offer and says why`() = runBlocking<Unit> {
        val repo = repository()
        val customer = repo.createCustomer(CustomerDraft("Hafenkiosk"))
        val other = repo.createCustomer(CustomerDraft("Fischhalle"))
        val stranger = repo.createContact(other.meta.id, "Lu Fisch")
        val vm = ContactActionsViewModel(repo, scope, clock)
        // A contact shown under the wrong customer (a stale screen): the library refuses it.
        vm.call(customer.meta.id, summary(stranger.meta.id, customer.meta.id, "Lu Fisch"), "040 1234")
        vm.onForeground()
        assertNull(vm.confirm())
        val state = vm.state.value
        assertNotNull(state.offer, "kept to fix or dismiss")
        assertNotNull(state.message)
    }
}
