package app.fieldcrm.android.ui

import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.List
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Star
import androidx.compose.material.icons.filled.Place
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material.icons.filled.ShoppingCart
import androidx.compose.material3.Icon
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.navigation.NavGraph.Companion.findStartDestination
import androidx.navigation.NavHostController
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.currentBackStackEntryAsState
import androidx.navigation.compose.rememberNavController
import app.fieldcrm.android.AppContainer
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.SyncRunner
import app.fieldcrm.android.logic.userMessage

/** Login until there is a session; then the signed-in user's store and the main screens. */
@Composable
fun FieldCrmRoot(container: AppContainer) {
    val session by container.session.collectAsStateWithLifecycle()
    val current = session
    if (current == null) {
        LoginScreen(container)
        return
    }
    val opened by produceState<Result<Pair<FieldRepository, SyncRunner>>?>(null, current.userId) {
        value = runCatching { container.repositoryFor(current.userId) to container.runnerFor(current.userId) }
    }
    val result = opened
    val ready = result?.getOrNull()
    when {
        result == null -> Loading()
        ready != null -> MainScreens(container, ready.first, ready.second)
        else -> Text(result.exceptionOrNull()!!.userMessage(), Modifier.padding(24.dp))
    }
}

private enum class Tab(val route: String, val label: String, val icon: ImageVector) {
    Customers("customers", "Customers", Icons.AutoMirrored.Filled.List),
    Nearby("nearby", "Nearby", Icons.Filled.Place),
    Today("today", "Today", Icons.Filled.DateRange),
    Deals("deals", "Deals", Icons.Filled.Star),
    Catalog("catalog", "Catalog", Icons.Filled.ShoppingCart),
    Sync("sync", "Sync", Icons.Filled.Refresh),
}

@Composable
private fun MainScreens(container: AppContainer, repository: FieldRepository, runner: SyncRunner) {
    val nav = rememberNavController()
    val location = remember(repository) { container.locationFor(repository) }
    val openCustomer = { id: String -> nav.navigate("customer/$id") }
    val openVisit = { id: String -> nav.navigate("visit/$id") }
    val openDeal = { id: String -> nav.navigate("deal/$id") }
    val openOrder = { id: String -> nav.navigate("order/$id") }
    Scaffold(bottomBar = { BottomBar(nav) }) { padding ->
        NavHost(nav, startDestination = Tab.Customers.route, modifier = Modifier.padding(padding)) {
            composable(Tab.Customers.route) { CustomerListScreen(repository, location, openCustomer) }
            composable(Tab.Nearby.route) { NearbyScreen(repository, location, openCustomer) }
            composable(Tab.Today.route) { TodayPlanScreen(repository, location, openVisit) }
            composable(Tab.Deals.route) { PipelineScreen(repository, openDeal) }
            composable(Tab.Catalog.route) { CatalogScreen(repository) }
            composable(Tab.Sync.route) { SyncScreen(repository, runner, onSignOut = container::signOut) }
            composable("customer/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                CustomerDetailScreen(repository, id, openVisit, openDeal, openOrder, onBack = { nav.popBackStack() })
            }
            composable("deal/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                DealScreen(repository, id, onBack = { nav.popBackStack() })
            }
            composable("visit/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                VisitScreen(repository, location, id, openOrder, onBack = { nav.popBackStack() })
            }
            composable("order/{id}") { entry ->
                val id = entry.arguments?.getString("id").orEmpty()
                OrderScreen(repository, id, onBack = { nav.popBackStack() })
            }
        }
    }
}

@Composable
private fun BottomBar(nav: NavHostController) {
    val entry by nav.currentBackStackEntryAsState()
    val route = entry?.destination?.route
    NavigationBar {
        for (tab in Tab.entries) {
            NavigationBarItem(
                selected = route == tab.route,
                onClick = {
                    nav.navigate(tab.route) {
                        popUpTo(nav.graph.findStartDestination().id) { saveState = true }
                        launchSingleTop = true
                        restoreState = true
                    }
                },
                icon = { Icon(tab.icon, contentDescription = null) },
                label = { Text(tab.label) },
            )
        }
    }
}
