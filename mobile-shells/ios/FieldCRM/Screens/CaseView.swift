import FieldCRMCore
import SwiftUI

/// One service case: its service times, its history (the server's escalations included), moving
/// it on with a note, taking it over, and the customer's satisfaction once it is resolved. The
/// library keeps the rules: it stamps the history and refuses a survey before the resolution or
/// a score outside 1 to 5.
struct CaseView: View {
    let caseId: String

    @EnvironmentObject private var model: AppModel
    @State private var detail: CaseDetail?
    @State private var note = ""
    @State private var score = 5
    @State private var comment = ""
    @State private var byCustomer = true
    @State private var working = false

    var body: some View {
        Form {
            if let detail {
                let current = detail.record
                Section {
                    LabeledContent("Status", value: current.status.label)
                    LabeledContent("Severity", value: current.severity.label)
                    LabeledContent("Handled by", value: current.assignee ?? "No one")
                    LabeledContent("Due", value: current.dueAt.map(formatTime) ?? "–")
                    if detail.overdue {
                        Text("Overdue").foregroundStyle(.red)
                    }
                    LabeledContent("First response", value: detail.firstResponseMs.map(spanText) ?? "–")
                    LabeledContent("Resolved in", value: detail.resolutionMs.map(spanText) ?? "–")
                    Button("Take over") { takeOver() }
                        .disabled(current.assignee == model.session?.userId)
                }
                Section("Move to") {
                    TextField("Note", text: $note, axis: .vertical)
                    ForEach(CaseStatus.pickable.filter { $0 != current.status }, id: \.label) { status in
                        Button(status.label) { move(to: status) }
                    }
                }
                if detail.surveyAllowed {
                    Section("Satisfaction") {
                        if let survey = current.survey {
                            LabeledContent("Score", value: "\(survey.score) of 5 · \(survey.enteredBy.label)")
                        }
                        Stepper("Score: \(score)", value: $score, in: 1...5)
                        TextField("Comment", text: $comment, axis: .vertical)
                        Toggle("Entered by the customer", isOn: $byCustomer)
                        Button("Save survey") { recordSurvey() }
                    }
                }
                Section("History") {
                    ForEach(Array(current.statusHistory.reversed().enumerated()), id: \.offset) { _, change in
                        LabeledContent(
                            change.escalation ? "Escalated" : change.to.label,
                            value: ([formatTime(change.at), change.by] + (change.note.map { [$0] } ?? [])).joined(separator: " · "))
                    }
                }
            } else {
                ProgressView()
            }
        }
        .disabled(working)
        .navigationTitle(detail?.record.subject ?? "Case")
        .task { await load() }
    }

    @MainActor
    private func load() async {
        let id = caseId
        do {
            guard let loaded = try await model.perform({ (store: FieldStore) throws -> CaseDetail? in
                try store.caseDetail(id: id)
            }) else { throw FieldCrmError.NotFound(id: id) }
            detail = loaded
        } catch {
            model.show(error)
        }
    }

    @MainActor
    private func move(to status: CaseStatus) {
        let id = caseId
        let text = note.trimmingCharacters(in: .whitespacesAndNewlines)
        act { store in
            _ = try store.setCaseStatus(id: id, status: status, note: text.isEmpty ? nil : text)
        }
        note = ""
    }

    @MainActor
    private func takeOver() {
        let id = caseId
        guard let me = model.session?.userId else { return }
        act { store in _ = try store.assignCase(id: id, assignee: me) }
    }

    @MainActor
    private func recordSurvey() {
        let id = caseId
        let text = comment.trimmingCharacters(in: .whitespacesAndNewlines)
        let entrant: SurveyEntrant = byCustomer ? .customer : .rep
        let value = UInt8(score)
        act { store in
            _ = try store.recordCaseSurvey(id: id, score: value, comment: text.isEmpty ? nil : text, enteredBy: entrant)
        }
    }

    /// Runs a write on the store queue, then reads the case again.
    @MainActor
    private func act(_ write: @escaping @Sendable (FieldStore) throws -> Void) {
        working = true
        _Concurrency.Task { @MainActor in
            do {
                try await model.perform { (store: FieldStore) throws in try write(store) }
                await load()
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}
