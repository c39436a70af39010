package server

// Name and place lists for the synthetic demo practice. Combinations are
// drawn at random; no record describes a real person. Streets and towns
// are invented; telephone numbers use the fictional 555-01xx range and
// e-mail addresses the reserved example.com domain.

var givenFemale = []string{
	"Olivia", "Emma", "Amelia", "Sophia", "Isla", "Ava", "Mia", "Grace", "Chloe", "Ella",
	"Hannah", "Lucy", "Zoe", "Nora", "Leila", "Priya", "Aisha", "Mei", "Yuki", "Sofia",
	"Camila", "Lucia", "Ingrid", "Freya", "Astrid", "Maria", "Elena", "Fatima", "Amara", "Chiara",
	"Margaret", "Patricia", "Linda", "Barbara", "Susan", "Dorothy", "Helen", "Ruth", "Joan", "Evelyn",
	"Rosa", "Ines", "Noor", "Anika", "Keiko", "Ngozi", "Thandiwe", "Siobhan", "Maeve", "Ruby",
}

var givenMale = []string{
	"Oliver", "Jack", "Noah", "Leo", "George", "Harry", "Lucas", "Henry", "Arthur", "Oscar",
	"James", "William", "Thomas", "Samuel", "Daniel", "Joseph", "David", "Liam", "Ethan", "Mason",
	"Arjun", "Rohan", "Omar", "Yusuf", "Hiroshi", "Kenji", "Wei", "Mateo", "Diego", "Luca",
	"Lars", "Erik", "Finn", "Matteo", "Pierre", "Tomasz", "Kwame", "Chinedu", "Sipho", "Ciaran",
	"Robert", "Richard", "Charles", "Kenneth", "Donald", "Frank", "Walter", "Harold", "Albert", "Ernest",
}

var familyNames = []string{
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
	"Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
	"Patel", "Khan", "Singh", "Ahmed", "Shah", "Chen", "Wang", "Li", "Nguyen", "Tanaka",
	"Sato", "Kim", "Park", "Garcia", "Martinez", "Rodriguez", "Lopez", "Hernandez", "Rossi", "Russo",
	"Ferrari", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Laurent", "Moreau", "Bernard",
	"Kowalski", "Nowak", "Novak", "Horvat", "Jensen", "Nielsen", "Hansen", "Larsen", "Andersson", "Johansson",
	"Okafor", "Adeyemi", "Mensah", "Boateng", "Dlamini", "Nkosi", "O'Brien", "Murphy", "Kelly", "Byrne",
	"MacDonald", "Campbell", "Stewart", "Murray", "Fraser", "Reid", "Morgan", "Hughes", "Lewis", "Price",
	"Costa", "Silva", "Santos", "Pereira", "Oliveira", "Ivanova", "Petrov", "Popescu", "Horvath", "Nagy",
	"Cohen", "Levi", "Haddad", "Nasser", "Rahman", "Hossain", "Das", "Iyer", "Menon", "Fernando",
}

var streets = []string{
	"Alder Lane", "Birch Road", "Cedar Close", "Damson Way", "Elm Grove", "Fern Street", "Hazel Avenue",
	"Juniper Court", "Laurel Drive", "Maple Row", "Oak Terrace", "Poplar Walk", "Rowan Crescent", "Willow Mews",
}

var towns = []string{"Ashbridge", "Brookvale", "Cresthaven", "Dunmore", "Eastwick", "Fairhollow", "Greystone"}

// staffPlan is the demo practice's staff: name and roles. Every lane role
// appears at least once.
var staffPlan = []struct {
	given, family string
	roles         []string
	site          int // 0 or 1; -1 for both sites
}{
	{"Alex", "Morgan", []string{"technician"}, 0},
	{"Priya", "Raman", []string{"technician"}, 0},
	{"Tom", "Okafor", []string{"technician"}, 1},
	{"Mei", "Lindqvist", []string{"technician", "front-desk"}, 1},
	{"Sarah", "Whitfield", []string{"optometrist"}, 0},
	{"Daniel", "Osei", []string{"optometrist"}, 0},
	{"Elena", "Marchetti", []string{"optometrist"}, 1},
	{"Jamie", "Doyle", []string{"optometrist"}, 1},
	{"Hannah", "Berg", []string{"optician"}, 0},
	{"Luis", "Navarro", []string{"optician"}, 1},
	{"Chloe", "Bennett", []string{"front-desk"}, 0},
	{"Sam", "Patel", []string{"front-desk"}, 1},
	{"Robin", "Ashworth", []string{"admin"}, -1},
}

var visitReasons = []string{
	"Routine eye examination", "Routine eye examination", "Routine eye examination",
	"Blurred distance vision", "Difficulty reading", "Headaches with close work",
	"Contact lens review", "Diabetic eye screening", "Glaucoma follow-up", "Dry, gritty eyes",
}
