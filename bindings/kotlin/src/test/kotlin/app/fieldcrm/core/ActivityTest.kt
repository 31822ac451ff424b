package app.fieldcrm.core

import app.fieldcrm.core.Support.nowMs
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

class ActivityTest {
    @Test
    fun `a logged call takes now, shows in the customer timeline and refuses another customer's contact`(@TempDir dir: Path) {
        open(dir).use { store ->
            val customer = store.createCustomer(newCustomer("Hafenkiosk"))
            val other = store.createCustomer(newCustomer("Fischhalle"))
            val contact = store.createContact(newContact(customer.meta.id, "Eva Hansen"))
            val stranger = store.createContact(newContact(other.meta.id, "Lu Fisch"))
            val before = nowMs()

            val call = store.logActivity(
                newActivity(customer.meta.id, ActivityChannel.Call, 0, "Autumn order").copy(
                    contactId = contact.meta.id,
                    direction = ActivityDirection.Outbound,
                    durationS = 240u,
                    outcome = "Orders on Monday",
                ),
            )
            assertTrue(call.occurredAt >= before, "0 means now")
            assertEquals(call, store.getActivity(call.meta.id))

            val timeline = store.customerTimeline(customer.meta.id, 0u)
            assertEquals(listOf(RecordKind.ACTIVITY), timeline.map { it.kind })
            assertEquals("Autumn order" to "call", timeline[0].title to timeline[0].status)

            val refused = assertThrows<FieldCrmException.InvalidValue> {
                store.logActivity(
                    newActivity(customer.meta.id, ActivityChannel.Email, 0, "Offer").copy(contactId = stranger.meta.id),
                )
            }
            assertEquals("contact_id" to ValidationRule.OUT_OF_RANGE, refused.field to refused.rule)
            assertEquals(1, store.customerTimeline(customer.meta.id, 0u).size, "nothing written")
        }
    }

    @Test
    fun `a live timeline is delivered again when an activity is logged`(@TempDir dir: Path) {
        open(dir).use { store ->
            val customer = store.createCustomer(newCustomer("Hafenkiosk"))
            val listener = QueueListener()
            store.subscribe(Query.CustomerTimeline(customer.meta.id, 20u), listener).use {
                val first = listener.next() as QueryResult.Timeline
                assertEquals(emptyList<TimelineEntry>(), first.entries)
                val meeting = store.logActivity(newActivity(customer.meta.id, ActivityChannel.Meeting, 0, "Tasting"))
                val next = listener.next() as? QueryResult.Timeline ?: error("no update after logging")
                assertEquals(listOf(meeting.meta.id), next.entries.map { it.id })
            }
        }
    }
}
