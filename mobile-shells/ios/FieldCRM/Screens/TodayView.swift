import FieldCRMCore
import SwiftUI

/// Today's planned visits in visiting order from the current position (`planDay`), and all of
/// today's visits as a live query.
struct TodayView: View {
    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    @State private var route: DayRoute?
    @State private var planning = false

    var body: some View {
        NavigationStack {
            List {
                Section("Route") {
                    Button {
                        plan()
                    } label: {
                        Label(route == nil ? "Plan my day from here" : "Plan again from here", systemImage: "point.topleft.down.curvedto.point.bottomright.up")
                    }
                    .disabled(planning)
                    if let route {
                        ForEach(Array(route.stops.enumerated()), id: \.element.visitId) { index, stop in
                            NavigationLink {
                                VisitView(visitId: stop.visitId)
                            } label: {
                                LabeledContent("\(index + 1). \(stop.customerName)", value: "+\(formatDistance(stop.legM))")
                            }
                        }
                        LabeledContent("Total", value: formatDistance(route.totalM))
                        if !route.unplacedVisitIds.isEmpty {
                            Text("\(route.unplacedVisitIds.count) planned visit(s) left out: their customers have no location.")
                                .font(.footnote)
                                .foregroundStyle(.secondary)
                        }
                    }
                }
                Section("Visits today") {
                    let visits = live.result?.visitRows ?? []
                    if visits.isEmpty {
                        Text(live.failure ?? "No visits today.").foregroundStyle(.secondary)
                    }
                    ForEach(visits, id: \.id) { visit in
                        NavigationLink {
                            VisitView(visitId: visit.id)
                        } label: {
                            VisitRow(visit: visit)
                        }
                    }
                }
            }
            .navigationTitle("Today")
            .task { await watchToday() }
        }
    }

    @MainActor
    private func watchToday() async {
        guard let rep = model.session?.userId else { return }
        let day = Day.today()
        await live.watch(.visitsForRep(rep: rep, from: day.start, to: day.end), in: model)
    }

    @MainActor
    private func plan() {
        planning = true
        _Concurrency.Task { @MainActor in
            do {
                let fix = try await model.location.currentFix()
                let day = Day.today()
                route = try await model.perform { store in
                    try store.planDay(lat: fix.lat, lon: fix.lon, dayStart: day.start, dayEnd: day.end)
                }
            } catch {
                model.show(error)
            }
            planning = false
        }
    }
}
